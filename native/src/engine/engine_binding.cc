// JS entry points of the inference engine: load a model, sessions, forward passes.
#include <napi.h>

namespace mtpkit {
void InitEngine(Napi::Env, Napi::Object) {}
}  // namespace mtpkit
