// SqlStore's spend: billing settings, the charges of run transitions and the end of
// spend holds. See store/sql/billing.h and sql_store.h.
#include "store/sql/billing.h"

#include <sodium.h>

#include "core/ids.h"
#include "core/workflow_safety.h"
#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"

namespace sw {

using nlohmann::json;
using sql::Connection;
using sql::Statement;

namespace sql {

namespace {

constexpr char kBillingColumns[] =
    "workspace_id, currency, spend_cap, soft_threshold_ppm, prices, period_start, spend, "
    "near_cap_notified, capped, updated_at";

Result<BillingRecord> ReadBilling(const Statement& q) {
  BillingRecord b;
  b.workspace_id = q.Text(0);
  b.currency = q.Text(1);
  if (!q.IsNull(2)) {
    b.state.cap = q.Int(2);
  }
  b.state.soft_threshold_ppm = q.Int(3);
  const json prices = q.Json(4);
  if (!prices.is_object()) {
    return DataCorruption("billing", b.workspace_id, "prices", q.Text(4));
  }
  for (const auto& [type, micros] : prices.items()) {
    if (!micros.is_number_integer()) {
      return DataCorruption("billing", b.workspace_id, "prices", q.Text(4));
    }
    b.prices[type] = micros.get<int64_t>();
  }
  b.state.period_start = q.Int(5);
  b.state.spend = q.Int(6);
  b.state.near_cap_notified = q.Int(7) != 0;
  b.state.capped = q.Int(8) != 0;
  b.updated_at = q.Int(9);
  return b;
}

}  // namespace

Result<BillingRecord> SelectBilling(Connection& db, const std::string& workspace_id, int64_t now) {
  Result<std::vector<BillingRecord>> rows = QueryAll<BillingRecord>(
      db, std::string("SELECT ") + kBillingColumns + " FROM billing WHERE workspace_id = ?",
      [&](Statement& q) { q.Bind(1, workspace_id); }, ReadBilling);
  if (!rows.ok()) {
    return rows.status();
  }
  BillingRecord b;
  if (rows->empty()) {
    b.workspace_id = workspace_id;
  } else {
    b = std::move(rows->front());
  }
  b.state.RollTo(now);
  return b;
}

Status WriteBilling(Connection& db, const BillingRecord& b) {
  json prices = json::object();
  for (const auto& [type, micros] : b.prices) {
    prices[type] = micros;
  }
  return Exec(db,
              std::string("INSERT INTO billing(") + kBillingColumns +
                  ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(workspace_id) DO UPDATE "
                  "SET currency = excluded.currency, spend_cap = excluded.spend_cap, "
                  "soft_threshold_ppm = excluded.soft_threshold_ppm, prices = excluded.prices, "
                  "period_start = excluded.period_start, spend = excluded.spend, "
                  "near_cap_notified = excluded.near_cap_notified, capped = excluded.capped, "
                  "updated_at = excluded.updated_at",
              [&](Statement& q) {
                q.Bind(1, b.workspace_id).Bind(2, b.currency);
                if (b.state.cap) {
                  q.Bind(3, *b.state.cap);
                } else {
                  q.BindNull(3);
                }
                q.Bind(4, b.state.soft_threshold_ppm).BindJson(5, prices);
                q.Bind(6, b.state.period_start).Bind(7, b.state.spend);
                q.Bind(8, b.state.near_cap_notified ? 1 : 0).Bind(9, b.state.capped ? 1 : 0);
                q.Bind(10, b.updated_at);
              });
}

Result<bool> ChargeSpend(Connection& db, const SpendCharge& charge, int64_t now) {
  Result<BillingRecord> billing = SelectBilling(db, charge.workspace_id, now);
  if (!billing.ok()) {
    return billing.status();
  }
  SpendState& s = billing->state;
  if (s.Refuses(charge.amount)) {
    return Status(StatusCode::kResourceExhausted, "the workspace's spend cap is reached",
                  kSpendCapRefused);
  }
  s.spend += charge.amount;
  const bool notify = !s.near_cap_notified && s.NearCap();
  s.near_cap_notified = s.near_cap_notified || notify;
  if (Status w = WriteBilling(db, *billing); !w.ok()) {
    return w;
  }
  if (!notify) {
    return false;
  }
  Result<std::vector<std::string>> slug = QueryAll<std::string>(
      db, "SELECT slug FROM workspaces WHERE id = ?",
      [&](Statement& q) { q.Bind(1, charge.workspace_id); },
      [](const Statement& q) { return q.Text(0); });
  if (!slug.ok()) {
    return slug.status();
  }
  NotificationRecord n =
      NearCapNotification(*billing, slug->empty() ? "" : slug->front(), NewId("ntf", now), now);
  Result<int64_t> queued = InsertNotification(db, n);
  if (!queued.ok()) {
    return queued.status();
  }
  return true;
}

std::string NewId(std::string_view prefix, int64_t now) {
  std::array<uint8_t, 10> random;
  randombytes_buf(random.data(), random.size());
  return MakeId(prefix, now, random);
}

}  // namespace sql

Result<BillingRecord> SqlStore::GetBilling(const std::string& workspace_id, int64_t now) {
  return Read([&](Connection& db) { return sql::SelectBilling(db, workspace_id, now); });
}

Result<BillingRecord> SqlStore::UpdateBilling(const BillingUpdate& u) {
  BillingRecord after;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<BillingRecord> billing = sql::SelectBilling(db, u.workspace_id, u.now);
    if (!billing.ok()) {
      return billing.status();
    }
    BillingRecord& b = *billing;
    if (u.currency) {
      b.currency = *u.currency;
    }
    if (u.spend_cap) {
      b.state.cap = *u.spend_cap;
    }
    if (u.soft_threshold_ppm) {
      b.state.soft_threshold_ppm = *u.soft_threshold_ppm;
    }
    for (const auto& [type, micros] : u.prices) {
      b.prices[type] = micros;
    }
    if (b.state.Releases()) {
      b.state.capped = false;
    }
    // A lower threshold or cap may put the spend near the new cap: notified again then.
    if (!b.state.NearCap()) {
      b.state.near_cap_notified = false;
    }
    b.updated_at = u.now;
    if (Status w = sql::WriteBilling(db, b); !w.ok()) {
      return w;
    }
    after = b;
    return sql::InsertAudit(db, u.audit);
  });
  if (!s.ok()) {
    return s;
  }
  return after;
}

Result<std::vector<std::pair<WorkflowRef, std::string>>> SqlStore::ListWorkflowHolds() {
  using Hold = std::pair<WorkflowRef, std::string>;
  return Read([&](Connection& db) {
    return QueryAll<Hold>(
        db,
        "SELECT workspace_id, id, " + db.dialect().json_member("safety", "reason") +
            " FROM workflows WHERE safety IS NOT NULL ORDER BY workspace_id, id",
        [](Statement&) {},
        [](const Statement& q) {
          return Hold{{q.Text(0), q.Text(1)}, q.IsNull(2) ? std::string() : q.Text(2)};
        });
  });
}

Result<std::vector<WorkflowRef>> SqlStore::SettleSpendHolds(int64_t now) {
  std::vector<WorkflowRef> released;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    released.clear();
    struct Held {
      WorkflowRef wf;
      std::string status;  // the admin's
    };
    Result<std::vector<Held>> held = QueryAll<Held>(
        db,
        "SELECT workspace_id, id, status FROM workflows WHERE safety IS NOT NULL AND " +
            db.dialect().json_member("safety", "reason") + " = ? ORDER BY workspace_id, id",
        [&](Statement& q) { q.Bind(1, kSpendCapReason); },
        [](const Statement& q) {
          return Held{{q.Text(0), q.Text(1)}, q.Text(2)};
        });
    if (!held.ok()) {
      return held.status();
    }
    std::string workspace;
    bool releases = false;
    for (const auto& [wf, status] : *held) {
      if (wf.workspace_id != workspace) {
        Result<BillingRecord> billing = sql::SelectBilling(db, wf.workspace_id, now);
        if (!billing.ok()) {
          return billing.status();
        }
        workspace = wf.workspace_id;
        releases = !billing->state.capped;
        if (Status w = sql::WriteBilling(db, *billing); !w.ok()) {
          return w;  // the rolled-over period is kept
        }
      }
      if (!releases) {
        continue;
      }
      Status cleared = sql::Exec(
          db,
          "UPDATE workflows SET safety = NULL, updated_at = ? WHERE workspace_id = ? AND id = ?",
          [&](Statement& q) { q.Bind(1, now).Bind(2, wf.workspace_id).Bind(3, wf.workflow_id); });
      AuditEntry audit;
      audit.id = sql::NewId("aud", now);
      audit.workspace_id = wf.workspace_id;
      audit.at = now;
      audit.actor = "system";
      audit.action = "workflow.safety_cleared";
      audit.target = wf.workflow_id;
      audit.reason = "the spend cap no longer holds it (raised, or a new billing period)";
      audit.status_before = "paused_safety";
      audit.status_after = status;
      if (Status a = cleared.ok() ? sql::InsertAudit(db, audit) : cleared; !a.ok()) {
        return a;
      }
      released.push_back(wf);
    }
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return released;
}

}  // namespace sw
