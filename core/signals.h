// Cooperative interruption. The handlers only set a flag; long loops poll
// Interrupted() between short waits and then finish cleanly (flush, commit,
// close) before returning Status::Interrupted.
#pragma once

namespace lifeline {

// Installs SIGINT and SIGTERM handlers. Idempotent.
void InstallSignalHandlers();
bool Interrupted();
// For tests and for commands that handle one interruption and go on.
void ClearInterrupted();
// Marks the process interrupted, as a signal would.
void RequestInterrupt();

}  // namespace lifeline
