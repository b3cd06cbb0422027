{
  "targets": [
    {
      "target_name": "mtpkit_native",
      "sources": [
        "src/addon.cc",
        "src/convert.cc",
        "src/finite.cc",
        "src/quantize.cc",
        "src/file_lock.cc",
        "src/sha256_stream.cc",
        "<!@(node -p \"require('fs').readdirSync('src/engine', { recursive: true }).filter(f => f.endsWith('.cc')).sort().map(f => 'src/engine/' + f.split(require('path').sep).join('/')).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fno-fast-math"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-ffp-contract=off", "-fno-fast-math"]
      }
    }
  ]
}
