#!/usr/bin/env bash
# Compiles every native source outside node-gyp in the configurations our users hit but this
# machine's normal build does not: clang for aarch64 (the closest we get to Apple clang on arm64
# Macs), clang for x86-64 (clang and gcc accept different things, e.g. the feature names of
# __builtin_cpu_supports), clang and g++ with the portable SIMD paths compiled out
# (MTPKIT_QUANT_SIMD=0), and a syntax pass against LLVM's libc++ (Apple's C++ standard library,
# whose headers include other headers than libstdc++'s do, so a missing #include shows up) when it
# is installed. It also links an aarch64 shared object, so a function that only the x86 paths
# define shows up as an undefined symbol.
# With qemu-user installed it also runs the portable quantizer and kernels as an aarch64 program and
# compares their output bytes with the x86-64 build's (compare-aarch64).
# NATIVE_DIR=<dir holding src/ and binding.gyp> checks another tree (default: native); ONLY=<names,
# comma-separated> runs only those configurations (the aarch64 link needs clang-aarch64 among them).
# Needs clang++, lld and the Debian aarch64 cross headers:
#   apt-get install -y clang lld g++-aarch64-linux-gnu libstdc++-12-dev-arm64-cross
# (libc++: apt-get install -y libc++-dev libc++abi-dev). Prints "skipped" and exits 0 when the
# required ones are missing. Exit 1 when any compile warns or fails, the link fails, or the aarch64
# outputs differ from the x86-64 ones.
set -u
cd "$(dirname "$0")/.."
NATIVE=$(cd "${NATIVE_DIR:-native}" && pwd)

AARCH64_SYSROOT=/usr/aarch64-linux-gnu
if ! command -v clang++ >/dev/null 2>&1 || ! command -v ld.lld >/dev/null 2>&1 || [ ! -d "$AARCH64_SYSROOT/include" ] \
  || ! ls /usr/lib/gcc-cross/aarch64-linux-gnu/*/libstdc++.so >/dev/null 2>&1; then
  echo "check-native-portability: skipped (needs clang++, lld and the aarch64 cross headers: apt-get install -y clang lld g++-aarch64-linux-gnu libstdc++-12-dev-arm64-cross)"
  exit 0
fi

# Node's headers: npm_config_nodedir (as node-gyp uses it) or next to the running node binary.
NODE_INC=${npm_config_nodedir:+$npm_config_nodedir/include/node}
[ -n "$NODE_INC" ] && [ -f "$NODE_INC/node_api.h" ] || NODE_INC=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
# ...or where node-gyp downloads them.
[ -f "$NODE_INC/node_api.h" ] || NODE_INC="$HOME/.cache/node-gyp/$(node -p process.versions.node)/include/node"
if [ ! -f "$NODE_INC/node_api.h" ]; then
  echo "check-native-portability: node headers not found (set npm_config_nodedir)" >&2
  exit 1
fi
NAPI_INC=$(node -p "require('path').resolve(require('node-addon-api').include_dir)")
# The defines and C++ flags (optimisation level included) come from binding.gyp, so this check
# compiles what the real build compiles.
read -r -a GYP_FLAGS <<<"$(node -e '
  const g = Function("return " + require("fs").readFileSync(process.argv[1], "utf8"))().targets[0];
  const f = (g.defines || []).map((d) => "-D" + d).concat((g.cflags_cc || []).filter((c) => !/^-std=/.test(c)));
  console.log(f.join(" "));' "$NATIVE/binding.gyp")"

SOURCES=$(cd "$NATIVE" && find src -name '*.cc' | sort)
HEADERS=$(cd "$NATIVE" && find src -name '*.h' | sort)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
COMMON=(-std=c++17 -Wall -Wextra -fPIC -pthread -isystem "$NODE_INC" -isystem "$NAPI_INC" "${GYP_FLAGS[@]}")
failed=0

# compile <name> <-c|-fsyntax-only> <compiler and flags...>: every .cc (to an object with -c: clang
# reports target-attribute errors only while generating code), every header on its own, included from an
# otherwise empty file (a header that misses an include it needs fails here even when the .cc files
# happen to include it first). A warning counts as a failure: node-gyp on a Mac shows the same -Wall
# output to whoever installs the package.
compile() {
  local name=$1 mode=$2; shift 2
  local n=0 bad=0 f
  if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$name,"* ]]; then
    echo "$name: not run (ONLY=$ONLY)"; return 1
  fi
  mkdir -p "$OUT/$name"
  for f in $SOURCES; do
    n=$((n + 1))
    if ! "$@" "${COMMON[@]}" "$mode" "$NATIVE/$f" -o "$OUT/$name/$(echo "$f" | tr / _).o" 2>"$OUT/$name.log.1"; then
      bad=$((bad + 1)); echo "  FAIL $name: $f"; cat "$OUT/$name.log.1"
    elif [ -s "$OUT/$name.log.1" ]; then
      bad=$((bad + 1)); echo "  WARN $name: $f"; cat "$OUT/$name.log.1"
    fi
  done
  for f in $HEADERS; do
    n=$((n + 1))
    if ! echo "#include \"$NATIVE/$f\"" | "$@" "${COMMON[@]}" -fsyntax-only -x c++ - 2>"$OUT/$name.log.1"; then
      bad=$((bad + 1)); echo "  FAIL $name (header alone): $f"; cat "$OUT/$name.log.1"
    elif [ -s "$OUT/$name.log.1" ]; then
      bad=$((bad + 1)); echo "  WARN $name (header alone): $f"; cat "$OUT/$name.log.1"
    fi
  done
  echo "$name: $((n - bad))/$n ok"
  [ $bad -eq 0 ] || failed=1
  return $bad
}

compile clang-aarch64 -c clang++ --target=aarch64-linux-gnu
aarch64_ok=$?
compile clang-x86_64 -c clang++ --target=x86_64-linux-gnu
compile clang-x86_64-nosimd -c clang++ --target=x86_64-linux-gnu -DMTPKIT_QUANT_SIMD=0
compile gcc-x86_64-nosimd -c g++ -DMTPKIT_QUANT_SIMD=0
if echo '#include <vector>' | clang++ -stdlib=libc++ -x c++ -fsyntax-only - 2>/dev/null; then
  compile clang-libc++ -fsyntax-only clang++ -stdlib=libc++
else
  echo "clang-libc++: skipped (apt-get install -y libc++-dev libc++abi-dev)"
fi

# Link the aarch64 objects. Symbols that node itself exports (N-API, and the OpenSSL that
# sha256_stream.cc uses) are resolved when node loads the addon, so they may stay undefined here
# (node-gyp links with -undefined dynamic_lookup on macOS for the same reason); anything else undefined
# is a function only some other configuration defines. The list of node's exports is read from the
# running node binary; without nm, only napi_/node_api_/OpenSSL-looking names are let through.
if [ $aarch64_ok -eq 0 ]; then
  clang++ --target=aarch64-linux-gnu -fuse-ld=lld -shared -pthread -Wl,--no-undefined -Wl,--error-limit=0 -Wl,--no-demangle \
    -o "$OUT/mtpkit_native.node" "$OUT"/clang-aarch64/*.o 2>"$OUT/link.log"
  grep -o 'undefined symbol: [^ ]*' "$OUT/link.log" | sed 's/undefined symbol: //' | sort -u >"$OUT/undefined.txt"
  NODE_BIN=$(node -p process.execPath)
  if command -v nm >/dev/null 2>&1 && nm -D --defined-only "$NODE_BIN" >"$OUT/node-exports.raw" 2>/dev/null \
    && [ -s "$OUT/node-exports.raw" ]; then
    awk '{print $NF}' "$OUT/node-exports.raw" | sort -u >"$OUT/node-exports.txt"
    missing=$(comm -23 "$OUT/undefined.txt" "$OUT/node-exports.txt")
  else
    missing=$(grep -v -E '^(napi_|node_api_|EVP_|OPENSSL_|CRYPTO_|ERR_)' "$OUT/undefined.txt" || true)
  fi
  other=$(grep -E 'error:' "$OUT/link.log" | grep -v -E 'undefined symbol|linker command failed' || true)
  if [ -n "$missing" ] || [ -n "$other" ]; then
    echo "  FAIL link-aarch64 (undefined and not exported by node, or other link errors):"
    [ -z "$missing" ] || echo "$missing"
    [ -z "$other" ] || echo "$other"
    failed=1
  else
    echo "link-aarch64: ok ($(wc -l <"$OUT/undefined.txt") undefined symbols, all exported by node)"
  fi
fi

# Run the portable quantizer and kernels on aarch64 under qemu-user and compare with x86-64: the same
# inputs must give the same bytes (scripts/native-outputs.cc says why). gcc builds the x86-64 side,
# clang the aarch64 side, both with binding.gyp's flags.
if [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",compare-aarch64,"* ]]; then
  if ! command -v qemu-aarch64 >/dev/null 2>&1 || [ ! -f "$AARCH64_SYSROOT/lib/libc.a" ]; then
    echo "compare-aarch64: skipped (apt-get install -y qemu-user)"
  else
    CMP_SRC=(scripts/native-outputs.cc "$NATIVE"/src/engine/qlinear*.cc "$NATIVE/src/engine/thread_pool.cc")
    CMP_FLAGS=(-std=c++17 -pthread -I "$NATIVE/src" "${GYP_FLAGS[@]}")
    if ! g++ "${CMP_FLAGS[@]}" "${CMP_SRC[@]}" -o "$OUT/outputs-x86_64" 2>"$OUT/cmp.log" \
      || ! clang++ --target=aarch64-linux-gnu -fuse-ld=lld -static "${CMP_FLAGS[@]}" "${CMP_SRC[@]}" \
        -o "$OUT/outputs-aarch64" 2>>"$OUT/cmp.log"; then
      echo "  FAIL compare-aarch64 (build):"; cat "$OUT/cmp.log"; failed=1
    elif ! "$OUT/outputs-x86_64" >"$OUT/outputs-x86_64.txt" || ! qemu-aarch64 "$OUT/outputs-aarch64" >"$OUT/outputs-aarch64.txt"; then
      echo "  FAIL compare-aarch64 (run)"; failed=1
    elif ! diff "$OUT/outputs-x86_64.txt" "$OUT/outputs-aarch64.txt" >"$OUT/cmp.diff"; then
      echo "  FAIL compare-aarch64 (x86-64 < > aarch64):"; cat "$OUT/cmp.diff"; failed=1
    else
      echo "compare-aarch64: ok ($(wc -l <"$OUT/outputs-x86_64.txt") outputs identical)"
    fi
  fi
fi

if [ $failed -eq 0 ]; then echo "check-native-portability: ok${ONLY:+ (only $ONLY)}"; else echo "check-native-portability: FAILED"; fi
exit $failed
