// The umbrella header: everything annal offers that needs no optional client library.
// Included on their own: the JSON codec (<annal/codec/json.hpp>, which parses Boost.JSON and links
// its library; a program storing binary events does not pay for it), backup and restore
// (<annal/file/backup.hpp>, <annal/file/restore.hpp>: operations code), process managers
// (<annal/process/...>: most programs run none, and every includer would parse them), the SQLite
// and PostgreSQL components (<annal/sqlite/...>, <annal/postgres/...>), Kafka (<annal/kafka/...>),
// privacy (<annal/privacy/...>) and the Catch2 testing fixtures (<annal/testing/...>).
#pragma once

#include <annal/fwd.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/as_of.hpp>
#include <annal/core/decider.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/envelope.hpp>
#include <annal/core/error.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>
#include <annal/core/hydrate.hpp>
#include <annal/core/record.hpp>

#include <annal/runtime/log.hpp>
#include <annal/runtime/new_event_id.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/codec/fingerprint.hpp>
#include <annal/codec/registry.hpp>
#include <annal/codec/upcast.hpp>

#include <annal/store/checkpoint.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/event_view.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>
#include <annal/store/subscription.hpp>
#include <annal/store/tombstone.hpp>

#include <annal/snapshot/memory_snapshot_store.hpp>
#include <annal/snapshot/policy.hpp>
#include <annal/snapshot/snapshot_store.hpp>
#include <annal/snapshot/snapshotter.hpp>

#include <annal/projection/partitioned.hpp>
#include <annal/projection/partitioned_runner.hpp>
#include <annal/projection/projection.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/reactor.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/projection/reconcile.hpp>

#include <annal/file/checkpoint.hpp>
#include <annal/file/log.hpp>
#include <annal/file/read_model.hpp>
#include <annal/file/salvage.hpp>
#include <annal/file/snapshot_store.hpp>
