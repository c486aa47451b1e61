// A bounded queue between one producing and one consuming thread, for
// pipelines that hand work over in batches (replay's writer, verify's
// readers). Push blocks while the queue is full, so memory stays bounded
// however fast the producer runs.
//
// Close(Ok) ends the queue normally: Pop drains what is queued, then returns
// false. Close(error) stops it: Push and Pop return false at once and
// error() says why. The first error wins.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

#include "core/status.h"

namespace lifeline {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // False once the queue is closed (the item is dropped).
  bool Push(T item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }
  // False when the queue is closed and drained, or stopped by an error.
  bool Pop(T* out) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty() || !error_.ok()) return false;
    *out = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Close(Status why = Status::Ok()) {
    std::lock_guard lock(mu_);
    closed_ = true;
    if (!why.ok() && error_.ok()) error_ = std::move(why);
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  Status error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> q_;
  bool closed_ = false;
  Status error_;
};

}  // namespace lifeline
