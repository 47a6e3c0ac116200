#!/usr/bin/env bash
# On the GPU machine, from the repository root after backend-jcuda/device/prepare.sh: the conformance kit at each
# precision (and with tile=wgmma, attention=flash2), the GPU tests (the wgmma cases in a second JVM), block and GEMM
# timings (CUDA events), the bench of CLIP ViT-B/16 (fused blocks against blocks composed from operations; mma.sync
# against wgmma products; WMMA against register-resident attention) and ViT-L/14-336, and classify on the GPU.
# Writes env.txt, kit.txt, tests.txt, gemm.txt, bench.txt and classify.txt under $OUT; every step is bounded by a
# timeout.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
{ nvidia-smi; ldconfig -p | grep -E 'cublas\.so|nvrtc\.so|libcuda\.'; nproc; } > "$OUT/env.txt" 2>&1
tar -C /tmp -xJf .device/jdk.tar.xz
J=/tmp/jdkimg/bin/java
M=.device/mods
JO="-Xmx32g -XX:+UseParallelGC"
step() { echo "=== $(date +%T) $*"; }
kit() { step kit "$@"; timeout 40 "$J" $JO -p $M --add-modules ALL-MODULE-PATH -m dev.visiontower.conformance/dev.visiontower.conformance.Main \
      --backend jcuda --device cuda --golden testdata/golden "$@" | tail -3; echo "exit ${PIPESTATUS[0]}"; }
bench() { step bench "$@"; timeout 45 "$J" $JO -p $M --add-modules ALL-MODULE-PATH -m dev.visiontower.cli/dev.visiontower.cli.Main bench \
        --backends jcuda --device cuda --batch 1,32,128 --warmup 3 --iters 10 "$@"; echo "exit $?"; }
{ step backends; timeout 40 "$J" $JO -p $M --add-modules ALL-MODULE-PATH -m dev.visiontower.cli/dev.visiontower.cli.Main backends; } >> "$OUT/env.txt" 2>&1
{ kit --dtype bfloat16; kit --dtype float16; kit --dtype float32; kit --dtype bfloat16 --option tile=wgmma;
  kit --dtype bfloat16 --option attention=flash2; } > "$OUT/kit.txt" 2>&1
T() { timeout 150 "$J" $JO -Dvisiontower.test.wgmma=$1 -jar .device/test/junit-platform-console-standalone-1.14.4.jar \
    -cp .device/test/classes:$(ls $M/*.jar | tr '\n' ':') --details=tree --disable-banner "${@:2}"; }
C=dev.visiontower.backend.jcuda.CudaGpuTest
# the wgmma (sm_90a) cases in a JVM of their own: a fault there must not spoil the other results
{ step junit; T false --select-class $C --select-class dev.visiontower.backend.jcuda.JCudaProviderTest
  step junit wgmma; T only --select-method "$C#matrixProductsOnEveryEngineAndPrecision" \
    --select-method "$C#fusedBlocksMatchTheReferenceBlocks"; } > "$OUT/tests.txt" 2>&1
G() { timeout 60 "$J" $JO -p $M --add-modules ALL-MODULE-PATH -m dev.visiontower.backend.jcuda/dev.visiontower.backend.jcuda.GemmBenchmark "$@"; }
{ step gemm wgmma; G 25216 bf16-wgmma fp16-wgmma;
  step block; G block bf16-ops bf16-fused bf16-flash2 bf16-warpnorm-fused bf16-wgmma-fused bf16-wgmma-flash2 \
    bf16-wgmma-warpnorm-flash2 fp16-fused fp16-wgmma-warpnorm-flash2;
  step gemm; G 25216 bf16 bf16-wmma fp16; } > "$OUT/gemm.txt" 2>&1
{ bench --preset clip-vit-b-16 --dtype bfloat16 --option block=ops; bench --preset clip-vit-b-16 --dtype bfloat16;
  bench --preset clip-vit-b-16 --dtype bfloat16 --option attention=flash2;
  bench --preset clip-vit-b-16 --dtype bfloat16 --option tile=wgmma;
  bench --preset clip-vit-b-16 --dtype bfloat16 --option tile=wgmma --option attention=flash2;
  bench --preset clip-vit-b-16 --dtype bfloat16 --option tile=wgmma --option attention=flash2 --option norm=warp;
  bench --preset clip-vit-b-16 --dtype float16; bench --preset clip-vit-l-14-336 --dtype bfloat16;
  bench --preset clip-vit-l-14-336 --dtype bfloat16 --option tile=wgmma --option attention=flash2 --option norm=warp;
} > "$OUT/bench.txt" 2>&1
{ step classify; timeout 60 "$J" $JO -p $M --add-modules ALL-MODULE-PATH -m dev.visiontower.cli/dev.visiontower.cli.Main classify \
    --device cuda --dtype bfloat16 --model samples/model samples/images/*.png; echo "exit $?"; } > "$OUT/classify.txt" 2>&1
echo done
