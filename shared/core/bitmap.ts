/**
 * @module
 * A growable bitmap kept as base64 in the workflow record (N/8 bytes for N members).
 */
export class Bitmap {
  private bytes: Uint8Array;
  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  static decode(b64: string): Bitmap {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Bitmap(bytes);
  }
  static empty(): Bitmap {
    return new Bitmap(new Uint8Array(0));
  }
  has(i: number): boolean {
    const byte = this.bytes[i >> 3];
    return byte !== undefined && (byte & (1 << (i & 7))) !== 0;
  }
  set(i: number): void {
    const idx = i >> 3;
    if (idx >= this.bytes.length) {
      const grown = new Uint8Array(Math.max(idx + 1, this.bytes.length * 2));
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[idx] = this.bytes[idx]! | (1 << (i & 7));
  }
  /** Encodes only the bytes that hold set bits' range, so growth slack is not stored. */
  encode(bitCount: number): string {
    const n = Math.min(this.bytes.length, (bitCount + 7) >> 3);
    let bin = "";
    for (let i = 0; i < n; i++) bin += String.fromCharCode(this.bytes[i]!);
    return btoa(bin);
  }
}
