#include "store/internal/sql.h"

namespace certkeeper::store::internal {

Status Statement::Run() {
  while (true) {
    CK_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

std::optional<TimePoint> Statement::OptionalTime(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Time(column);
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

}  // namespace certkeeper::store::internal
