// libFuzzer entry: clang -fsanitize=fuzzer,address (cmake -DBLOTTER_LIBFUZZER=ON).
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] % 2 == 0) {
    blotter::fuzz::DecodeEventTarget(data + 1, size - 1);
  } else if (size > 0) {
    blotter::fuzz::JsonTarget(data + 1, size - 1);
  }
  return 0;
}
