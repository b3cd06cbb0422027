/**
 * Errors that carry an exit code and the place they are about (file, tensor, field),
 * so the CLI can print one clear line and exit non-zero.
 */

export const EXIT_OK = 0;
/** Something failed while doing valid work (I/O, internal error). */
export const EXIT_FAILURE = 1;
/** Bad usage or bad input: the user has to change something. */
export const EXIT_BAD_INPUT = 2;
/**
 * The output is busy: another mtpkit process holds its lock. Nothing is wrong and nothing was written;
 * the same command may succeed later (sysexits.h EX_TEMPFAIL), so a CI script can tell it from a failure.
 */
export const EXIT_BUSY = 75;

export interface ErrorPlace {
  /** File the problem is in (absolute or as given by the user). */
  file?: string;
  /** Tensor name the problem is about. */
  tensor?: string;
  /** JSON field / config key the problem is about. */
  field?: string;
}

export class MtpkitError extends Error {
  readonly exitCode: number;
  readonly place: ErrorPlace;

  constructor(message: string, place: ErrorPlace = {}, exitCode: number = EXIT_FAILURE) {
    super(MtpkitError.compose(message, place));
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.place = place;
  }

  private static compose(message: string, place: ErrorPlace): string {
    const where: string[] = [];
    if (place.file) where.push(place.file);
    if (place.tensor) where.push(`tensor '${place.tensor}'`);
    if (place.field) where.push(`field '${place.field}'`);
    return where.length ? `${where.join(': ')}: ${message}` : message;
  }
}

/** Input the tool cannot accept (malformed file, inconsistent checkpoint, bad option): exit 2. */
export class InputError extends MtpkitError {
  constructor(message: string, place: ErrorPlace = {}) {
    super(message, place, EXIT_BAD_INPUT);
  }
}
