// Run by gemm-fused.test.ts in a child node started with relaxed SIMD (the descent command's
// setting): checks the fused float32 kernel against a float64 product and 2 threads against 1,
// checks that the native addon (where it is built) gives the fused kernel's bits, and prints one
// JSON line. Imports the build in dist/.
const root = new URL("../../dist/src/", import.meta.url);
const { fusedMultiplyAdd, gemmSimdBatch } = await import(new URL("backend/cpu/simd/gemm-simd.js", root));
const { gemmPool } = await import(new URL("backend/cpu/simd/gemm-threads.js", root));
const { Generator } = await import(new URL("tensor/random.js", root));
const { nativeAddon } = await import(new URL("backend/native/native.js", root));
const native = nativeAddon();

const g = new Generator(5);
const rand = (n) => Float32Array.from({ length: n }, () => g.uniform() * 2 - 1);
const pool = gemmPool(2);
let worst = 0, threadMismatches = 0, nativeMismatches = 0, products = 0;
const shapes = [[64, 784, 256, 0, 0, 1], [784, 64, 256, 1, 0, 1], [64, 256, 784, 0, 1, 1], [131, 300, 97, 1, 1, 1], [40, 50, 61, 0, 0, 3], [7, 9, 5, 0, 1, 2], [32, 144, 1000, 0, 0, 1]];
for (const [m, k, n, tA, tB, batch] of shapes) {
  const a = rand(batch * m * k), b = rand(batch * k * n);
  const aOffs = Array.from({ length: batch }, (_, t) => t * m * k), bOffs = Array.from({ length: batch }, (_, t) => t * k * n);
  const args = { m, k, n, transA: !!tA, transB: !!tB };
  const one = new Float32Array(batch * m * n), two = new Float32Array(batch * m * n);
  gemmSimdBatch(a, aOffs, b, bOffs, one, 0, args);
  if (pool) gemmSimdBatch(a, aOffs, b, bOffs, two, 0, args, pool);
  const nat = new Float32Array(batch * m * n);
  native?.sgemm(a, Int32Array.from(aOffs), b, Int32Array.from(bOffs), nat, 0, n, m, k, n, tA, tB, 1);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0, mag = 0;
      for (let p = 0; p < k; p++) {
        const x = a[t * m * k + (tA ? p * m + i : i * k + p)] * b[t * k * n + (tB ? j * k + p : p * n + j)];
        s += x; mag += Math.abs(x);
      }
      const at = t * m * n + i * n + j;
      worst = Math.max(worst, Math.abs(one[at] - s) / ((k + 4) * 1.2e-7 * mag + 1e-30));
      if (pool && !Object.is(one[at], two[at])) threadMismatches++;
      if (native && !Object.is(one[at], nat[at])) nativeMismatches++;
    }
  }
  products++;
}
console.log(JSON.stringify({ fused: fusedMultiplyAdd(), pool: !!pool, native: !!native, products, worst, threadMismatches, nativeMismatches }));
process.exit(0);
