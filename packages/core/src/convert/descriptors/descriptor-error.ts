/**
 * Descriptors could not be had: a descriptor set that is not one, a file whose imports are
 * missing, a reflection service that refused. The message names the source (a file path or a
 * server address) and what was wrong with it.
 */
export class DescriptorError extends Error {
  override readonly name = "DescriptorError";
  /** The descriptor set file or reflection server the descriptors came from. */
  readonly origin: string;

  constructor(origin: string, message: string, options?: { cause?: unknown }) {
    super(`${origin}: ${message}`, options);
    this.origin = origin;
  }
}
