#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/envelope.h"
#include "core/topic_reader.h"
#include "synth/synth.h"

namespace lifeline::synth {

Result<ScanReport> Scan(const ClientConfig& config, const ScanOptions& options) {
  ScanReport report;
  report.topic = options.topic;
  std::map<int32_t, std::unique_ptr<DigestChain>> chains;
  std::unordered_set<std::string> prompts;
  auto started = std::chrono::steady_clock::now();
  std::map<std::pair<int32_t, int64_t>, const ManifestEntry*> expected;
  if (options.expected) {
    for (const ManifestEntry& e : options.expected->entries) {
      expected[{e.partition, e.offset}] = &e;
    }
  }
  auto check = [&](const Record& r, std::string_view got) {
    auto it = expected.find({r.partition.value(), r.offset.value()});
    const std::string where =
        fmt::format("partition {} offset {}", r.partition.value(), r.offset.value());
    if (it == expected.end()) {
      if (!got.empty()) {
        report.manifest_mismatches.push_back(
            fmt::format("{}: rejected as {} but not in the manifest", where, got));
      }
      return;
    }
    const std::string& want = it->second->reason;
    if (got == want) {
      ++report.manifest_confirmed;
    } else {
      report.manifest_mismatches.push_back(
          fmt::format("{}: manifest says {}, but it {}", where, want,
                      got.empty() ? std::string("parsed as a valid event")
                                  : "was rejected as " + std::string(got)));
    }
    expected.erase(it);
  };

  TopicReadOptions read;
  read.topic = options.topic;
  read.read_committed = options.read_committed;
  std::map<Partition, PartitionExtent> extents;
  Status st = ReadTopic(
      config, read,
      [&](const Record& r) {
        int64_t size = (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
        for (const Header& h : r.headers) size += h.name.size() + (h.value ? h.value->size() : 0);
        PartitionScan& ps = report.partitions[r.partition.value()];
        if (ps.records == 0) ps.first = r.offset;
        ps.last = r.offset;
        ++ps.records;
        ps.bytes += size;
        auto& chain = chains[r.partition.value()];
        if (!chain) chain = std::make_unique<DigestChain>();
        chain->Add(RecordDigest(r));
        ++report.records;
        report.bytes += size;

        auto parsed = envelope::Parse(r);
        if (auto* event = std::get_if<envelope::Event>(&parsed)) {
          ++report.valid;
          ++report.by_kind[std::string(envelope::KindName(event->kind))];
          prompts.insert(event->prompt_id);
          if (options.expected) check(r, "");
        } else {
          std::string_view reason =
              envelope::ReasonCode(std::get<envelope::Rejection>(parsed).reason);
          ++report.by_reason[std::string(reason)];
          if (options.expected) check(r, reason);
        }
        return Status::Ok();
      },
      &extents);
  if (!st.ok()) return st.WithContext("scan " + options.topic);
  for (const auto& [p, ext] : extents) report.partitions.try_emplace(p.value());
  if (options.expected && options.expected->records != report.records) {
    report.manifest_mismatches.push_back(
        fmt::format("the manifest says {} records were written, but the topic holds {}",
                    options.expected->records, report.records));
  }
  for (const auto& [coords, entry] : expected) {
    report.manifest_mismatches.push_back(
        fmt::format("partition {} offset {}: manifest says {}, but no such record was read",
                    coords.first, coords.second, entry->reason));
  }
  for (auto& [p, chain] : chains) report.partitions[p].chain_digest = chain->value().Hex();
  report.prompts = static_cast<int64_t>(prompts.size());
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

std::string FormatScanText(const ScanReport& report) {
  std::string out = fmt::format(
      "topic {}: {} records ({:.1f} MB) in {} partition(s), {} valid events about {} prompts, "
      "{} rejected\n",
      report.topic, report.records, report.bytes / 1e6, report.partitions.size(), report.valid,
      report.prompts, report.records - report.valid);
  out += "  events by kind:";
  for (const auto& [kind, n] : report.by_kind) out += fmt::format(" {}={}", kind, n);
  out += "\n";
  if (!report.by_reason.empty()) {
    out += "  rejected by reason:";
    for (const auto& [reason, n] : report.by_reason) out += fmt::format(" {}={}", reason, n);
    out += "\n";
  }
  for (const auto& [p, ps] : report.partitions) {
    if (ps.records == 0) {
      out += fmt::format("  partition {}: empty\n", p);
      continue;
    }
    out += fmt::format("  partition {}: offsets {}..{}, {} records, chain digest {}\n", p,
                       ps.first.value(), ps.last.value(), ps.records, ps.chain_digest);
  }
  if (report.manifest_confirmed > 0 || !report.manifest_mismatches.empty()) {
    out += fmt::format("  manifest: {} malformed record(s) rejected as expected, {} mismatch(es)\n",
                       report.manifest_confirmed, report.manifest_mismatches.size());
    for (const std::string& m : report.manifest_mismatches) out += "    " + m + "\n";
  }
  out += fmt::format("  read in {:.2f} s ({:.0f} records/s)\n", report.seconds,
                     report.seconds > 0 ? report.records / report.seconds : 0.0);
  return out;
}

std::string FormatScanJson(const ScanReport& report) {
  nlohmann::ordered_json j;
  j["topic"] = report.topic;
  j["records"] = report.records;
  j["valid"] = report.valid;
  j["rejected"] = report.records - report.valid;
  j["bytes"] = report.bytes;
  j["prompts"] = report.prompts;
  j["by_kind"] = report.by_kind;
  j["by_reason"] = report.by_reason;
  auto& parts = j["partitions"];
  parts = nlohmann::ordered_json::array();
  for (const auto& [p, ps] : report.partitions) {
    parts.push_back({{"partition", p},
                     {"first_offset", ps.first.value()},
                     {"last_offset", ps.last.value()},
                     {"records", ps.records},
                     {"bytes", ps.bytes},
                     {"chain_digest", ps.chain_digest}});
  }
  j["manifest_confirmed"] = report.manifest_confirmed;
  j["manifest_mismatches"] = report.manifest_mismatches;
  j["seconds"] = report.seconds;
  return j.dump(2) + "\n";
}

}  // namespace lifeline::synth
