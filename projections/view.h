#pragma once

// A view: what one projection materialises from each applied event. The
// runner (runner.h) decodes and checks each event, folds it into its
// incident's state, and hands every view the change; a view adds its writes
// to the batch that also carries the checkpoint.

#include <rocksdb/write_batch.h>

#include <string_view>
#include <vector>

#include "events/aggregate.h"
#include "projections/store.h"

namespace blotter::projections {

struct Change {
  const fb::Event& event;
  std::string_view bytes;  // the event's encoded form
  Position position;
  const IncidentState& after;
  // The incident's number in this batch: dense from 0, the same for each of
  // its events, until the batch's Flush (for views that gather by incident).
  uint32_t incident_slot;
};

class View {
 public:
  virtual ~View() = default;
  virtual std::string_view name() const = 0;
  // The column families that hold this view.
  virtual std::vector<Cf> column_families() const = 0;
  // One stable hash over the view's content (--digest): equal for two stores
  // built from the same log, whatever their batch sizes.
  virtual Result<std::string> Digest(const ViewStore& store) const {
    return store.Digest(column_families());
  }
  // Each applied event, in log order.
  virtual void Apply(const Change& change, rocksdb::WriteBatch* batch) {}
  // Once per incident the batch applied events to, in its key's order (IncidentKey):
  // its state before the batch (version 0 when new) and after, and its
  // Change::incident_slot. Views of state, not of events, work here: what the
  // events in between did cancels out.
  virtual void Finish(const IncidentState& before, const IncidentState& after,
                      uint32_t incident_slot, rocksdb::WriteBatch* batch) {}
  // At the end of each batch, before it commits.
  virtual void Flush(rocksdb::WriteBatch* batch) {}
};

}  // namespace blotter::projections
