/** The release, as package.json gives it. */
export const VERSION = '0.1.0';
