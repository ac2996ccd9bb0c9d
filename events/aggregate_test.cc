#include "events/aggregate.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "events/hash_chain.h"

namespace blotter {
namespace {

class FakeContext final : public DecideContext {
 public:
  Micros Now() const override { return ParseTime("2021-11-20T00:00:00+08:00").value(); }
  bool IncidentExists(std::string_view id) const override {
    return existing_.contains(std::string(id));
  }

 private:
  std::set<std::string> existing_ = {"411681-20211103-0005"};
};

// Builds command lines for incident "I" at increasing minutes.
class Script {
 public:
  std::string operator()(const char* type, const std::string& fields = "") {
    const Micros base = ParseTime("2021-11-17T02:00:00+08:00").value();
    return At(type, FormatTime(base + (n_ + 1) * kMicrosPerMinute), fields);
  }
  std::string At(const char* type, const std::string& at, const std::string& fields = "") {
    ++n_;
    return fmt::format(
        R"({{"command_id":"c{}","type":"{}","incident_id":"I","actor":"op:1","at":"{}"{}{}}})", n_,
        type, at, fields.empty() ? "" : ",", fields);
  }

 private:
  int n_ = 0;
};

const char* kReceive =
    R"("channel":"phone","location":{"lat":33.44,"lon":114.89,"division":"411681"},"description":"柴油被盗")";
const char* kClassify = R"("category":"criminal","subtype":"fuel_theft")";
const char* kInvalid = R"("category":"invalid","subtype":"prank")";
const char* kAssignA = R"("unit_id":"A","unit_kind":"patrol_car")";
const char* kAssignB = R"("unit_id":"B","unit_kind":"special","reinforcement":true)";
const char* kArriveA = R"("unit_id":"A")";
const char* kResolve = R"("disposition":"handled")";
const char* kTransfer = R"("destination":"ambulance_120")";
const char* kReopen = R"("reason":"victim called back")";
const char* kNote = R"("text":"patrol the lorry park")";
const char* kLink =
    R"("case_id":"K1","linked_incident_id":"411681-20211103-0005","score":0.9,"algorithm_version":"v1")";

// Runs `lines` through Decide and Apply; returns the state and the last result.
struct Outcome {
  IncidentState state;
  Result<std::vector<fb::EventT>> last = std::vector<fb::EventT>{};
};

Outcome Execute(const std::vector<std::string>& lines) {
  FakeContext ctx;
  Outcome run;
  run.state.last_hash = GenesisHash();
  for (const auto& line : lines) {
    auto cmd = CommandFromJson(line);
    if (!cmd.ok()) {
      run.last = cmd.status();
      return run;
    }
    run.last = Decide(run.state, *cmd, ctx);
    if (!run.last.ok()) return run;
    for (fb::EventT e : *run.last) {
      e.prev_hash.assign(run.state.last_hash.begin(), run.state.last_hash.end());
      auto sealed = Seal(e);
      EXPECT_TRUE(sealed.ok());
      Apply(run.state, *sealed->event());
    }
  }
  return run;
}

struct Case {
  const char* name;
  std::vector<std::string> lines;  // all but the last must be accepted
  StatusCode want;
  const char* want_message;  // for a rejection: part of the rule
  IncidentStatus want_status = IncidentStatus::kNone;
  size_t want_events = 1;
};

std::vector<Case> Cases() {
  Script s;
  std::vector<Case> c;
  auto add = [&](const char* name, std::vector<std::string> lines, StatusCode want,
                 const char* msg = "", IncidentStatus st = IncidentStatus::kNone, size_t n = 1) {
    c.push_back(Case{name, std::move(lines), want, msg, st, n});
  };
  using enum StatusCode;
  using S = IncidentStatus;
  const std::string R = s("receive", kReceive);
  const std::string C = s("classify", kClassify);
  const std::string A = s("assign", kAssignA);
  const std::string B = s("assign", kAssignB);
  const std::string V = s("arrive", kArriveA);
  const std::string D = s("resolve", kResolve);
  const std::string T = s("transfer", kTransfer);
  const std::string O = s("reopen", kReopen);
  const std::string N = s("note", kNote);
  const std::string L = s("link", kLink);
  // Allowed transitions.
  add("receive a new incident", {R}, kOk, "", S::kReceived);
  add("classify", {R, C}, kOk, "", S::kClassified);
  add("reclassify while open",
      {R, C, s("classify", R"("category":"public_order","subtype":"dispute")")}, kOk, "",
      S::kClassified);
  add("assign after classify", {R, C, A}, kOk, "", S::kDispatched);
  add("assign before classify (fast dispatch)", {R, A}, kOk, "", S::kDispatched);
  add("reinforcement after a first unit", {R, C, A, B}, kOk, "", S::kDispatched);
  add("arrive after assignment", {R, C, A, V}, kOk, "", S::kOnScene);
  add("resolve on scene", {R, C, A, V, D}, kOk, "", S::kResolved);
  add("resolve without dispatch", {R, C, D}, kOk, "", S::kResolved);
  add("arrest with a count", {R, C, A, V, s("resolve", R"("disposition":"arrest","count":2)")}, kOk,
      "", S::kResolved);
  add("duplicate of an existing incident",
      {R, C, s("resolve", R"("disposition":"duplicate_of","duplicate_of":"411681-20211103-0005")")},
      kOk, "", S::kResolved);
  add("transfer to 120", {R, C, A, V, T}, kOk, "", S::kTransferred);
  add("transfer to another jurisdiction",
      {R, C, s("transfer", R"("destination":"jurisdiction","jurisdiction":"341221")")}, kOk, "",
      S::kTransferred);
  add("reopen after resolution", {R, C, D, O}, kOk, "", S::kClassified);
  add("reopen after transfer returns to scene state", {R, C, A, V, T, O}, kOk, "", S::kOnScene);
  add("assign after reopen", {R, C, D, O, A}, kOk, "", S::kDispatched);
  add("note on an open incident", {R, N}, kOk, "", S::kReceived);
  add("note after resolution", {R, C, D, N}, kOk, "", S::kResolved);
  add("invalid call resolves at once", {R, s("classify", kInvalid)}, kOk, "", S::kResolved, 2);
  add("link after resolution", {R, C, D, L}, kOk, "", S::kResolved);
  add("confirm a proposed link", {R, C, L, s("confirm_link", R"("case_id":"K1","by":"officer:7")")},
      kOk, "", S::kClassified);
  add("reject a proposed link",
      {R, C, L, s("reject_link", R"("case_id":"K1","by":"officer:7","reason":"different MO")")},
      kOk, "", S::kClassified);
  // Rejected.
  add("receive twice", {R, R}, kAlreadyExists, "already received");
  add("classify unknown incident", {C}, kNotFound, "does not exist");
  add("subtype outside its category",
      {R, s("classify", R"("category":"traffic","subtype":"fuel_theft")")}, kInvalidArgument,
      "belongs to category criminal");
  add("receive without a division code",
      {s("receive", R"("channel":"phone","location":{"lat":1,"lon":2,"division":"4116"})")},
      kInvalidArgument, "six-digit");
  add("receive with lat out of range",
      {s("receive", R"("channel":"phone","location":{"lat":91,"lon":2,"division":"411681"})")},
      kInvalidArgument, "WGS84");
  add("platform referral without referrer",
      {s("receive",
         R"("channel":"platform_referral","location":{"lat":1,"lon":2,"division":"411681"})")},
      kInvalidArgument, "referred_by");
  add("window backwards",
      {s("receive",
         std::string(kReceive) +
             R"(,"happened":{"from":"2021-11-17T05:00:00+08:00","to":"2021-11-17T01:00:00+08:00"})")},
      kInvalidArgument, "after happened.to");
  add("arrive without assignment", {R, C, V}, kFailedPrecondition, "was not assigned");
  add("arrive twice", {R, C, A, V, s("arrive", kArriveA)}, kFailedPrecondition, "already arrived");
  add("assign the same unit twice", {R, C, A, s("assign", kAssignA)}, kFailedPrecondition,
      "already assigned");
  add("reinforcement without a first unit", {R, C, B}, kFailedPrecondition, "first unit");
  add("assign after resolution", {R, C, D, A}, kFailedPrecondition, "is resolved");
  add("classify after resolution", {R, C, D, C}, kFailedPrecondition, "is resolved");
  add("arrive after transfer", {R, C, A, T, V}, kFailedPrecondition, "ended police handling");
  add("resolve after transfer", {R, C, T, D}, kFailedPrecondition, "ended police handling");
  add("resolve before classification", {R, D}, kFailedPrecondition, "classified before");
  add("resolve twice", {R, C, D, D}, kFailedPrecondition, "is resolved");
  add("arrest without a count", {R, C, s("resolve", R"("disposition":"arrest")")}, kInvalidArgument,
      "count of at least 1");
  add("count on a handled disposition",
      {R, C, s("resolve", R"("disposition":"handled","count":3)")}, kInvalidArgument,
      "count is only");
  add("duplicate of a missing incident",
      {R, C, s("resolve", R"("disposition":"duplicate_of","duplicate_of":"nope")")}, kNotFound,
      "does not exist");
  add("duplicate of itself",
      {R, C, s("resolve", R"("disposition":"duplicate_of","duplicate_of":"I")")},
      kFailedPrecondition, "itself");
  add("invalid_call on a valid incident", {R, C, s("resolve", R"("disposition":"invalid_call")")},
      kFailedPrecondition, "classified invalid");
  add("transfer to own jurisdiction",
      {R, C, s("transfer", R"("destination":"jurisdiction","jurisdiction":"411681")")},
      kFailedPrecondition, "already in jurisdiction");
  add("jurisdiction without a code", {R, C, s("transfer", R"("destination":"jurisdiction")")},
      kInvalidArgument, "six-digit");
  add("reopen an open incident", {R, C, O}, kFailedPrecondition, "only a resolved or transferred");
  add("reopen without reason", {R, C, D, s("reopen")}, kInvalidArgument, "reason");
  add("empty note", {R, s("note", R"("text":"")")}, kInvalidArgument, "text");
  add("link an unclassified incident", {R, L}, kFailedPrecondition, "only classified");
  add("link twice", {R, C, L, L}, kAlreadyExists, "already linked");
  add("link after rejection",
      {R, C, L, s("reject_link", R"("case_id":"K1","by":"officer:7","reason":"no")"), L},
      kFailedPrecondition, "not proposed again");
  add("confirm after rejection is final",
      {R, C, L, s("reject_link", R"("case_id":"K1","by":"officer:7","reason":"no")"),
       s("confirm_link", R"("case_id":"K1","by":"officer:8")")},
      kFailedPrecondition, "final");
  add("confirm an unknown case", {R, C, s("confirm_link", R"("case_id":"K9","by":"officer:7")")},
      kFailedPrecondition, "not linked");
  add("reject without reason", {R, C, L, s("reject_link", R"("case_id":"K1","by":"officer:7")")},
      kInvalidArgument, "reason");
  add("event before the incident was received",
      {R, s.At("classify", "2021-11-17T01:00:00+08:00", kClassify)}, kFailedPrecondition,
      "before the incident was received");
  add("arrival before assignment", {R, C, A, s.At("arrive", "2021-11-17T02:02:30+08:00", kArriveA)},
      kFailedPrecondition, "before its assignment");
  add("event in the future", {R, s.At("note", "2021-11-21T00:00:00+08:00", kNote)},
      kFailedPrecondition, "in the future");
  add("missing actor", {R"({"command_id":"x","type":"note","incident_id":"I","text":"t"})"},
      kInvalidArgument, "actor");
  add("missing command id", {R"({"type":"note","incident_id":"I","actor":"a","text":"t"})"},
      kInvalidArgument, "command_id");
  add("unknown command type",
      {R"({"command_id":"x","type":"teleport","incident_id":"I","actor":"a"})"}, kInvalidArgument,
      "unknown command type");
  add("unknown field in a command", {s("receive", std::string(kReceive) + R"(,"colour":"red")")},
      kInvalidArgument, "unknown field 'colour'");
  add("malformed JSON", {"{\"command_id\":"}, kInvalidArgument, "malformed JSON");
  return c;
}

TEST(AggregateTest, TransitionTable) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> history(c.lines.begin(), c.lines.end() - 1);
    Outcome before = Execute(history);
    ASSERT_TRUE(before.last.ok()) << "history rejected: " << before.last.status().ToString();
    Outcome run = Execute(c.lines);
    if (c.want == StatusCode::kOk) {
      ASSERT_TRUE(run.last.ok()) << run.last.status().ToString();
      EXPECT_EQ(run.last->size(), c.want_events);
      EXPECT_EQ(Name(run.state.status), Name(c.want_status));
      EXPECT_EQ(run.state.version, before.state.version + c.want_events);
    } else {
      ASSERT_FALSE(run.last.ok());
      EXPECT_EQ(StatusCodeName(run.last.status().code()), StatusCodeName(c.want))
          << run.last.status().message();
      EXPECT_NE(run.last.status().message().find(c.want_message), std::string::npos)
          << "message: " << run.last.status().message();
    }
  }
}

// A projection checks a logged event against the rules by reading its
// flatbuffer, not the command's Object API form: the two must agree. Each
// case's last command, logged as it stands (accepted or not), gets the
// verdict Decide gave it, save where Decide asked about other incidents (a
// projection assumes they exist) or about the clock (a logged event is
// checked as of when it was recorded or happened, whichever is later).
TEST(CheckEventTest, GivesDecidesVerdictFromTheLoggedEvent) {
  const Micros now = FakeContext().Now();
  int checked = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    auto cmd = CommandFromJson(c.lines.back());
    if (!cmd.ok() || cmd->actor.empty() || cmd->command_id.empty()) continue;  // not a rule
    const std::string_view name = c.name;
    if (name == "duplicate of a missing incident" || name == "event in the future") continue;
    std::vector<std::string> history(c.lines.begin(), c.lines.end() - 1);
    const Outcome before = Execute(history);
    ASSERT_TRUE(before.last.ok());
    fb::EventT e;
    e.incident_id = cmd->incident_id;
    e.event_id = "e";
    e.sequence = before.state.version + 1;
    e.occurred_at = cmd->occurred_at;
    e.recorded_at = now;
    e.actor = cmd->actor;
    e.correlation_id = cmd->incident_id;
    e.causation_id = cmd->command_id;
    e.payload = cmd->payload;
    const std::string& prev = before.state.last_hash;
    e.prev_hash.assign(prev.begin(), prev.end());
    auto sealed = Seal(e);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    const Status got = CheckEvent(before.state, *sealed->event());
    EXPECT_EQ(StatusCodeName(got.code()), StatusCodeName(c.want)) << got.message();
    if (c.want != StatusCode::kOk) {
      EXPECT_NE(got.message().find(c.want_message), std::string::npos) << got.message();
    }
    ++checked;
  }
  EXPECT_GE(checked, 55);
}

TEST(AggregateTest, DecideFillsTheEnvelope) {
  Script s;
  auto cmd = CommandFromJson(s("receive", kReceive));
  ASSERT_TRUE(cmd.ok());
  IncidentState empty;
  auto events = Decide(empty, *cmd, FakeContext());
  ASSERT_TRUE(events.ok());
  const fb::EventT& e = events->front();
  EXPECT_EQ(e.incident_id, "I");
  EXPECT_EQ(e.sequence, 1u);
  EXPECT_EQ(e.actor, "op:1");
  EXPECT_EQ(e.causation_id, "c1");
  EXPECT_EQ(e.correlation_id, "I");
  EXPECT_EQ(e.schema_version, kSchemaVersion);
  EXPECT_EQ(FormatTime(e.occurred_at), "2021-11-17T02:01:00+08:00");
}

// Deciding a command it may consume gives the same events as deciding a
// copy; the payload moves only when the command is accepted.
TEST(AggregateTest, DecideFromAnRvalueMovesThePayloadOnlyWhenAccepted) {
  Script s;
  const Command receive = CommandFromJson(s("receive", kReceive)).value();
  IncidentState empty;
  auto copied = Decide(empty, receive, FakeContext());
  Command consumed = receive;
  auto moved = Decide(empty, std::move(consumed), FakeContext());
  ASSERT_TRUE(copied.ok() && moved.ok());
  ASSERT_EQ(moved->size(), 1u);
  fb::EventT a = copied->front(), b = moved->front();
  EXPECT_EQ(EncodeCanonical(a), EncodeCanonical(b));
  EXPECT_EQ(consumed.payload.type, fb::Payload::NONE) << "moved out";
  EXPECT_EQ(receive.payload.type, fb::Payload::IncidentReceived) << "the copy kept";

  // Classifying an incident that was never received breaks a rule.
  Command early = CommandFromJson(s("classify", kInvalid)).value();
  EXPECT_FALSE(Decide(empty, std::move(early), FakeContext()).ok());
  EXPECT_EQ(early.payload.type, fb::Payload::IncidentClassified) << "left as it was";
}

TEST(AggregateTest, FoldTracksTimesUnitsAndCommands) {
  Script s;
  Outcome run =
      Execute({s("receive", kReceive), s("classify", kClassify), s("assign", kAssignA),
               s("arrive", kArriveA), s("resolve", R"("disposition":"arrest","count":1)")});
  ASSERT_TRUE(run.last.ok());
  const IncidentState& st = run.state;
  EXPECT_EQ(st.division, "411681");
  EXPECT_EQ(st.subtype, fb::Subtype::fuel_theft);
  EXPECT_EQ(st.disposition, fb::Disposition::arrest);
  ASSERT_EQ(st.units.size(), 1u);
  EXPECT_EQ(st.units[0].arrived_at - st.units[0].assigned_at, 1 * kMicrosPerMinute);
  EXPECT_EQ(st.first_arrived_at - st.received_at, 3 * kMicrosPerMinute);
  EXPECT_EQ(st.commands.size(), 5u);
  EXPECT_TRUE(st.commands.contains("c5"));
  const Json j = StateToJson(st);
  EXPECT_EQ(j["status"], "resolved");
  EXPECT_EQ(j["units"][0]["unit_id"], "A");
}

// Short lists are searched, long ones indexed: both must give the same ranges.
TEST(CommandRangesTest, RangesHoldAcrossTheSwitchToAnIndex) {
  for (const int commands : {1, 3, 15, 16, 17, 40}) {
    CommandRanges r;
    uint64_t seq = 0;
    std::vector<std::pair<uint64_t, uint64_t>> want;
    for (int i = 0; i < commands; ++i) {
      const int events = 1 + i % 3;  // a command may produce several events
      want.emplace_back(seq + 1, seq + events);
      for (int e = 0; e < events; ++e) r.Record(fmt::format("cmd-{}", i), ++seq);
    }
    // A retried command's later event extends its range, not a new entry.
    r.Record("cmd-0", ++seq);
    want[0].second = seq;
    ASSERT_EQ(r.size(), static_cast<size_t>(commands)) << commands;
    for (int i = 0; i < commands; ++i) {
      const auto* found = r.Find(fmt::format("cmd-{}", i));
      ASSERT_NE(found, nullptr) << commands << " " << i;
      EXPECT_EQ(*found, want[i]) << commands << " " << i;
    }
    EXPECT_FALSE(r.contains("cmd-x"));
    EXPECT_FALSE(r.contains(fmt::format("cmd-{}", commands)));
    r.clear();
    EXPECT_FALSE(r.contains("cmd-0"));
  }
}

}  // namespace
}  // namespace blotter
