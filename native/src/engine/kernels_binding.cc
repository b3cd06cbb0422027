// JS entry points of the engine's kernels (used by tests and benchmarks).
#include <napi.h>

namespace mtpkit {
void InitEngineKernels(Napi::Env, Napi::Object) {}
}  // namespace mtpkit
