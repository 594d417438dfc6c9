// A traffic router moves a share of one entrypoint's requests from the source backend to the target.
// One file per router kind; each verifies what it set by reading it back.

export interface TrafficRouter {
  /** Sends `percent` of requests to the target and the rest to the source; returns the weight read back. */
  setWeight(percent: number): Promise<number>;
  /** The percent of requests the target gets now. */
  getWeight(): Promise<number>;
}

export class RouterError extends Error {
  override name = 'RouterError';
}

/** The router could not be reached (its admin endpoint refused or did not answer): worth retrying. */
export class RouterUnavailable extends Error {
  override name = 'RouterUnavailable';
}

/** What a router read back differs from what it set: worth retrying (someone else may have written meanwhile). */
export class ReadBackMismatch extends Error {
  override name = 'ReadBackMismatch';
}
