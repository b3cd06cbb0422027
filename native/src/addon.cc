// Entry point of the mtpkit native addon: each kernel family registers its own functions.
#include <napi.h>

namespace mtpkit {
void InitConvert(Napi::Env env, Napi::Object exports);
void InitQuantize(Napi::Env env, Napi::Object exports);
void InitFinite(Napi::Env env, Napi::Object exports);
void InitEngineKernels(Napi::Env env, Napi::Object exports);
void InitEngine(Napi::Env env, Napi::Object exports);
void InitFileLock(Napi::Env env, Napi::Object exports);
void InitSha256(Napi::Env env, Napi::Object exports);
}  // namespace mtpkit

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mtpkit::InitConvert(env, exports);
  mtpkit::InitQuantize(env, exports);
  mtpkit::InitFinite(env, exports);
  mtpkit::InitEngineKernels(env, exports);
  mtpkit::InitEngine(env, exports);
  mtpkit::InitFileLock(env, exports);
  mtpkit::InitSha256(env, exports);
  return exports;
}

NODE_API_MODULE(mtpkit_native, Init)
