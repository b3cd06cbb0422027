#include <napi.h>

namespace mtpkit {
void InitQuantize(Napi::Env, Napi::Object) {}
}  // namespace mtpkit
