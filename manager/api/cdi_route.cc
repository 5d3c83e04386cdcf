// GET, PUT and DELETE /v1/node/cdi: the CDI spec this daemon keeps (cdi_hooks.h).
#include "manager/api/router.h"

namespace ocisecrets {

Response Router::CdiHandler(Context& c) {
  if (cdi_ == nullptr) {
    return ErrorResponse(Status::FailedPrecondition(std::string(kCdiNotServedMessage)));
  }
  Result<CdiStatus> answer = Status::Internal("unreachable");
  if (c.request.method == "PUT") {
    auto settings = ParseCdiSettings(c.request.body);
    if (!settings.ok()) return ErrorResponse(settings.status());
    if (c.audit != nullptr) c.audit->name = settings->spec_dir;
    answer = cdi_->Enable(*settings);
  } else if (c.request.method == "DELETE") {
    answer = cdi_->Disable();
  } else {
    answer = cdi_->Current();
  }
  if (!answer.ok()) return ErrorResponse(answer.status());
  return JsonResponse(200, ToJson(*answer));
}

}  // namespace ocisecrets
