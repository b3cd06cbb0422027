// flock(2) on a file descriptor opened by Node (fs.open): the advisory lock Python's `filelock`
// package takes on POSIX (UnixFileLock), which huggingface_hub uses for its cache's `.locks/` files
// (huggingface/huggingface_hub src/huggingface_hub/file_download.py). Node has no flock of its own.
// Closing the descriptor releases the lock. Non-blocking only: JS polls, so no libuv thread ever
// blocks on a lock. The kernel drops the lock when the process dies (even by SIGKILL), so a crashed
// holder never leaves a stale lock behind.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#if !defined(_WIN32)
#include <sys/file.h>
#endif

namespace mtpkit {

namespace {

Napi::Value ThrowErrno(Napi::Env env, const char* what, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(what) + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.ThrowAsJavaScriptException();
  return env.Null();
}

int FdArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) return -1;
  return info[0].As<Napi::Number>().Int32Value();
}

// tryFlockExclusive(fd) -> true when taken, false when another open file description holds it.
Napi::Value TryFlockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArg(info);
  if (fd < 0) {
    Napi::TypeError::New(env, "tryFlockExclusive(fd): fd must be a non-negative integer").ThrowAsJavaScriptException();
    return env.Null();
  }
#if defined(_WIN32)
  Napi::Error::New(env, "file locks are not supported on Windows").ThrowAsJavaScriptException();
  return env.Null();
#else
  int r;
  do {
    r = flock(fd, LOCK_EX | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  if (r == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  return ThrowErrno(env, "flock", errno);
#endif
}

}  // namespace

void InitFileLock(Napi::Env env, Napi::Object exports) {
  exports.Set("tryFlockExclusive", Napi::Function::New(env, TryFlockExclusive));
}

}  // namespace mtpkit
