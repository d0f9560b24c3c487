import { BotsyncError } from '../../src/errors.js';

/** The BotsyncError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<BotsyncError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BotsyncError) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}
