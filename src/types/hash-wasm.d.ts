// hash-wasm.d.ts: the type of hash-wasm's per-algorithm CRC-32 build, which the package ships
// without its own declaration (src/core/gcs/crc32c.ts narrows it to createCRC32).
declare module 'hash-wasm/dist/crc32.umd.min.js' {
  const build: unknown;
  export default build;
}
