// lifeline-bench-loop: minimal librdkafka loops for scripts/bench's ceiling
// rows, sending the very records the mirror copies (keys, values, headers,
// timestamps, partitions), which kcat -P cannot (it has no per-record
// headers). Not part of lifeline; plain librdkafka, no offset map.
//
//   lifeline-bench-loop produce --source B --topic T --target B --to-topic T2 [--no-headers]
//       reads T from the source into memory (not timed), then times
//       producing every record to T2 until all are acknowledged.
//   lifeline-bench-loop copy --source B --topic T --target B --to-topic T2
//       a naive mirror: consume T and produce each record to T2 as it
//       arrives (headers included), timed until all are acknowledged.
//
// T2 is created with T's partition count when missing. Both print one line: "<mode>: N records in S
// s = R records/s (B bytes)". -X KEY=VALUE (repeatable) sets a librdkafka property on the producer,
// -C KEY=VALUE on the consumer; otherwise librdkafka's defaults, as kcat.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "lifeline-bench-loop: %s\n", msg.c_str());
  std::exit(1);
}

struct Args {
  std::string mode, source, topic, target, to_topic;
  bool headers = true;
  std::vector<std::pair<std::string, std::string>> producer_props, consumer_props;
};

rd_kafka_conf_t* Conf(const std::string& bootstrap,
                      const std::vector<std::pair<std::string, std::string>>& props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      Die(k + "=" + v + ": " + err);
    }
  };
  set("bootstrap.servers", bootstrap);
  for (const auto& [k, v] : props) set(k, v);
  return conf;
}

rd_kafka_t* NewConsumer(const Args& a) {
  rd_kafka_conf_t* conf = Conf(a.source, a.consumer_props);
  char err[512];
  for (auto [k, v] : {std::pair{"group.id", "lifeline-bench-loop"},
                      {"enable.auto.commit", "false"},
                      {"enable.partition.eof", "true"},
                      {"auto.offset.reset", "earliest"}}) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) Die(err);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) Die(err);
  rd_kafka_poll_set_consumer(rk);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, a.topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
    Die("no topic " + a.topic + " on " + a.source);
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(8);
  for (int p = 0; p < md->topics[0].partition_cnt; ++p) {
    rd_kafka_topic_partition_list_add(parts, a.topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  if (rd_kafka_assign(rk, parts)) Die("assign failed");
  rd_kafka_topic_partition_list_destroy(parts);
  return rk;
}

int PartitionCount(rd_kafka_t* rk, const std::string& topic) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
    Die("no topic " + topic);
  }
  int n = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return n;
}

bool TopicExists(rd_kafka_t* rk, const std::string& topic) {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000)) Die("metadata of the target");
  bool found = false;
  for (int i = 0; i < md->topic_cnt; ++i)
    found |= topic == md->topics[i].topic && !md->topics[i].err;
  rd_kafka_metadata_destroy(md);
  return found;
}

// Creates `topic` like scripts/bench's ceiling topics (retention.ms=-1,
// max.message.bytes=2097152) and waits until it has a leader everywhere.
void CreateTopic(rd_kafka_t* rk, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, err, sizeof err);
  if (!nt) Die(err);
  rd_kafka_NewTopic_set_config(nt, "retention.ms", "-1");
  rd_kafka_NewTopic_set_config(nt, "max.message.bytes", "2097152");
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  if (!ev) Die("create topic timed out");
  size_t cnt = 0;
  const rd_kafka_topic_result_t** res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
  if (cnt != 1 || rd_kafka_topic_result_error(res[0])) {
    Die("create topic " + topic + ": " +
        (cnt ? rd_kafka_topic_result_error_string(res[0]) : "no result"));
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  for (int i = 0; i < 300; ++i) {
    const rd_kafka_metadata_t* md = nullptr;
    bool ready = false;
    if (!rd_kafka_metadata(rk, 1, nullptr, &md, 5000)) {
      for (int t = 0; t < md->topic_cnt; ++t) {
        if (topic != md->topics[t].topic || md->topics[t].err) continue;
        ready = md->topics[t].partition_cnt >= partitions;
        for (int p = 0; ready && p < md->topics[t].partition_cnt; ++p) {
          ready = md->topics[t].partitions[p].leader >= 0 && !md->topics[t].partitions[p].err;
        }
      }
      rd_kafka_metadata_destroy(md);
    }
    if (ready) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Die("topic " + topic + " has no leaders");
}

int64_t g_delivered = 0, g_failed = 0;
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    if (g_failed++ == 0) std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    ++g_delivered;
  }
}

rd_kafka_t* NewProducer(const Args& a) {
  rd_kafka_conf_t* conf = Conf(a.target, a.producer_props);
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) Die(err);
  return rk;
}

// Produces one record (copied), waiting while the local queue is full.
void Produce(rd_kafka_t* rk, rd_kafka_topic_t* rkt, int32_t partition, const void* key,
             size_t key_len, const void* value, size_t value_len, int64_t ts,
             rd_kafka_headers_t* hdrs) {
  for (;;) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                          RD_KAFKA_V_VALUE(const_cast<void*>(value), value_len),
                          RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (!err) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("produce: ") + rd_kafka_err2str(err));
    rd_kafka_poll(rk, 10);
  }
}

void Report(const char* mode, int64_t n, int64_t bytes, Clock::time_point t0) {
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("%s: %lld records in %.3f s = %.0f records/s (%lld bytes)\n", mode,
              static_cast<long long>(n), s, n / s, static_cast<long long>(bytes));
}

struct Stored {
  int32_t partition;
  int64_t ts;
  bool has_key, has_value;
  std::string key, value;
  rd_kafka_headers_t* hdrs;  // owned copy, or null
};

// Reads the whole source topic; calls fn(message) for each record.
template <typename Fn>
void ConsumeAll(rd_kafka_t* rk, int partitions, Fn fn) {
  int eofs = 0;
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(10000);
  while (eofs < partitions) {
    ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[i];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ++eofs;
      } else if (m->err) {
        Die(std::string("consume: ") + rd_kafka_message_errstr(m));
      } else {
        fn(m);
      }
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_queue_destroy(q);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2)
    Die("usage: lifeline-bench-loop produce|copy --source B --topic T --target B --to-topic T2 "
        "[--no-headers] [-X k=v] [-C k=v]");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string opt = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + opt);
      return argv[++i];
    };
    auto kv = [&](std::vector<std::pair<std::string, std::string>>& to) {
      std::string s = next();
      auto eq = s.find('=');
      if (eq == std::string::npos) Die("expected KEY=VALUE: " + s);
      to.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    };
    if (opt == "--source")
      a.source = next();
    else if (opt == "--topic")
      a.topic = next();
    else if (opt == "--target")
      a.target = next();
    else if (opt == "--to-topic")
      a.to_topic = next();
    else if (opt == "--no-headers")
      a.headers = false;
    else if (opt == "-X")
      kv(a.producer_props);
    else if (opt == "-C")
      kv(a.consumer_props);
    else
      Die("unknown option " + opt);
  }
  if (a.source.empty() || a.topic.empty() || a.target.empty() || a.to_topic.empty()) {
    Die("--source, --topic, --target and --to-topic are required");
  }
  if (a.mode != "produce" && a.mode != "copy") Die("mode is produce or copy");

  rd_kafka_t* consumer = NewConsumer(a);
  const int partitions = PartitionCount(consumer, a.topic);
  rd_kafka_t* producer = NewProducer(a);
  if (!TopicExists(producer, a.to_topic)) CreateTopic(producer, a.to_topic, partitions);
  if (PartitionCount(producer, a.to_topic) < partitions) Die("target topic has too few partitions");
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, a.to_topic.c_str(), nullptr);

  int64_t n = 0, bytes = 0;
  auto bytes_of = [&](const rd_kafka_message_t* m) {
    int64_t b = static_cast<int64_t>(m->key_len + m->len);
    rd_kafka_headers_t* h = nullptr;
    if (a.headers && !rd_kafka_message_headers(m, &h)) {
      const char* name;
      const void* val;
      size_t size;
      for (size_t i = 0; !rd_kafka_header_get_all(h, i, &name, &val, &size); ++i) {
        b += static_cast<int64_t>(std::strlen(name) + size);
      }
    }
    return b;
  };
  auto headers_of = [&](const rd_kafka_message_t* m) -> rd_kafka_headers_t* {
    rd_kafka_headers_t* h = nullptr;
    if (!a.headers || rd_kafka_message_headers(m, &h)) return nullptr;
    return rd_kafka_headers_copy(h);
  };

  Clock::time_point t0;
  if (a.mode == "produce") {
    std::vector<Stored> records;
    ConsumeAll(consumer, partitions, [&](rd_kafka_message_t* m) {
      records.push_back(
          Stored{m->partition, rd_kafka_message_timestamp(m, nullptr), m->key != nullptr,
                 m->payload != nullptr,
                 std::string(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
                 std::string(static_cast<const char*>(m->payload), m->payload ? m->len : 0),
                 headers_of(m)});
      bytes += bytes_of(m);
    });
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    t0 = Clock::now();
    for (Stored& r : records) {
      Produce(producer, rkt, r.partition, r.has_key ? r.key.data() : nullptr, r.key.size(),
              r.has_value ? r.value.data() : nullptr, r.value.size(), r.ts, r.hdrs);
      r.hdrs = nullptr;  // owned by librdkafka now
      rd_kafka_poll(producer, 0);
    }
    n = static_cast<int64_t>(records.size());
  } else {
    t0 = Clock::now();
    ConsumeAll(consumer, partitions, [&](rd_kafka_message_t* m) {
      bytes += bytes_of(m);
      Produce(producer, rkt, m->partition, m->key, m->key_len, m->payload, m->len,
              rd_kafka_message_timestamp(m, nullptr), headers_of(m));
      ++n;
      rd_kafka_poll(producer, 0);
    });
  }
  while (rd_kafka_outq_len(producer) > 0) rd_kafka_poll(producer, 50);
  Report(a.mode.c_str(), n, bytes, t0);
  if (g_failed || g_delivered != n) {
    Die("delivered " + std::to_string(g_delivered) + " of " + std::to_string(n));
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(producer);
  if (a.mode == "copy") {
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
  }
  return 0;
}
