// NameThisThread: gives the calling thread a name that `top -H`, `ps -L`, perf and gdb
// show ("sw-writer", "sw-http-1"), so an operator can tell which of the server's threads
// is busy. Linux keeps 15 characters of it; longer names are cut.
#pragma once

#include <pthread.h>

#include <string>

namespace sw {

inline void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace sw
