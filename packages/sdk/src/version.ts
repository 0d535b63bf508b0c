/** The package's release, as its package.json gives it (a test holds the two equal). */
export const VERSION = '0.1.0';
