import { DUPLICATE_TAG } from '../../../domain/directory.js';
import { ApiError, StoreConflictError } from '../../../domain/errors.js';

/** A write that hits the unique name becomes the documented 409. */
export async function naming<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof StoreConflictError) throw new ApiError('CONFLICT', DUPLICATE_TAG);
    throw error;
  }
}
