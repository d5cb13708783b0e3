/** A bad image request: `field` names the input at fault, the message says how to fix it. */
export class ImageError extends Error {
  constructor(
    public field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}
