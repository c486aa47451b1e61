#include "core/signals.h"

#include <csignal>

namespace lifeline {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void OnSignal(int) { g_interrupted = 1; }

}  // namespace

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool Interrupted() { return g_interrupted != 0; }
void ClearInterrupted() { g_interrupted = 0; }
void RequestInterrupt() { g_interrupted = 1; }

}  // namespace lifeline
