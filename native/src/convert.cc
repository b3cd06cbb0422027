#include <napi.h>

namespace mtpkit {
void InitConvert(Napi::Env, Napi::Object) {}
}  // namespace mtpkit
