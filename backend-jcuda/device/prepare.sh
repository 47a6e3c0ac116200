#!/usr/bin/env bash
# Prepares .device/ for verifying the jcuda backend on a GPU machine that has an NVIDIA driver but no JDK, no Maven
# and no network: a jlink'ed Java runtime (xz-compressed), the module-path jars without libtorch and ONNX Runtime
# (too big to travel), JCuda's natives without the 24 MB PTX compiler, the tokenizers natives for linux-x86_64 only,
# the GPU tests and the JUnit console launcher.
# Then run .device/run.sh there (a copy of backend-jcuda/device/run.sh) from the repository root. About 39 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -ntp -q install -DskipTests
mvn -B -ntp -q test-compile -pl backend-jcuda
rm -rf .device && mkdir -p .device/mods .device/test
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude

jdk=$(mktemp -d)
jlink --add-modules java.base,java.compiler,java.desktop,java.sql,java.logging,java.management,jdk.unsupported \
  --strip-debug --no-man-pages --no-header-files --compress=0 --output "$jdk/jdkimg"
tar -C "$jdk" -cJf .device/jdk.tar.xz jdkimg
rm -rf "$jdk"

for f in cli/target/mods/*.jar; do
  case "$(basename "$f")" in
    pytorch*|openblas*|javacpp*|dnnl*|opencl*|onnxruntime*|backend-libtorch*|backend-onnx*|jcuda-natives*|tokenizers-*) ;;
    *) cp "$f" .device/mods/ ;;
  esac
done
cp cli/target/visiontower-cli.jar conformance-tests/target/conformance-tests-*.jar .device/mods/
natives=$(ls ~/.m2/repository/org/jcuda/jcuda-natives/*/jcuda-natives-*-linux-x86_64.jar | tail -1)
tmp=$(mktemp -d)
(cd "$tmp" && unzip -q "$natives" && rm -f lib/libJNvPTXCompiler* && zip -q -r -9 "$OLDPWD/.device/mods/$(basename "$natives")" .)
rm -rf "$tmp"
# Hugging Face tokenizers (SigLIP's tokenizer.json support): the linux-x86_64 natives only
tok=$(ls cli/target/mods/tokenizers-*.jar)
tmp=$(mktemp -d)
(cd "$tmp" && unzip -q "$OLDPWD/$tok" && find native/lib -mindepth 1 -maxdepth 1 ! -name linux-x86_64 ! -name '*.properties' -exec rm -rf {} + \
  && zip -q -r -9 "$OLDPWD/.device/mods/$(basename "$tok")" .)
rm -rf "$tmp"
cp -r backend-jcuda/target/test-classes .device/test/classes
console=org/junit/platform/junit-platform-console-standalone/1.14.4/junit-platform-console-standalone-1.14.4.jar
[ -f ~/.m2/repository/$console ] || mvn -B -ntp -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4
cp ~/.m2/repository/$console .device/test/
cp backend-jcuda/device/run.sh .device/run.sh
du -sh .device
