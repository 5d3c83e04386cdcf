#include "tests/faults/run_cluster.h"

#include <sys/stat.h>

namespace ocisecrets::faults {

Result<std::unique_ptr<RunCluster>> RunCluster::Start(std::vector<std::string> daemon_env) {
  std::unique_ptr<RunCluster> c(new RunCluster());
  c->etcd_dir_ = c->dir_.File("etcd");
  ::mkdir(c->etcd_dir_.c_str(), 0700);
  testing::EtcdClusterOptions etcd_options;
  etcd_options.members = 3;
  etcd_options.dir = c->etcd_dir_;
  ASSIGN_OR_RETURN(c->etcd_, testing::EtcdCluster::Start(etcd_options), "etcd (3 members)");
  itest::Cluster::Options options;
  options.manager_args = {"--store", "etcd", "--etcd-endpoints", c->etcd_->EndpointsFlag()};
  options.env = std::move(daemon_env);
  c->cluster_ = std::make_unique<itest::Cluster>(options);
  RETURN_IF_ERROR(c->cluster_->Init(), "manager 0 (cluster init)");
  ASSIGN_OR_RETURN(itest::Daemon * second, c->cluster_->AddManager(), "manager 1 (join)");
  (void)second;
  c->slots_.resize(2, nullptr);
  for (int slot = 0; slot < 2; ++slot) {
    RETURN_IF_ERROR(c->ReplaceWorker(slot), "worker " + std::to_string(slot) + " (join)");
  }
  return c;
}

RunCluster::~RunCluster() {
  cluster_.reset();  // workers, then managers
  etcd_.reset();
}

itest::Daemon* RunCluster::worker(int slot) const {
  std::lock_guard lock(mu_);
  return slots_.at(static_cast<std::size_t>(slot));
}

Status RunCluster::ReplaceWorker(int slot) {
  ASSIGN_OR_RETURN(itest::Daemon * w, cluster_->AddWorker({manager_addr(0), manager_addr(1)}),
                   "");
  if (!armed_env_.empty()) {
    w->set_env(armed_env_);
    w->Stop();
    RETURN_IF_ERROR(w->Start(), "restart the new worker with the fault points armed");
  }
  std::lock_guard lock(mu_);
  slots_.at(static_cast<std::size_t>(slot)) = w;
  all_workers_.push_back(w);
  return Status::Ok();
}

std::vector<const itest::Daemon*> RunCluster::Daemons() const {
  std::vector<const itest::Daemon*> out = {&cluster_->manager(0), &cluster_->manager(1)};
  std::lock_guard lock(mu_);
  out.insert(out.end(), all_workers_.begin(), all_workers_.end());
  return out;
}

Status RunCluster::RestartAllWith(const std::vector<std::string>& env) {
  armed_env_ = env;
  std::vector<itest::Daemon*> daemons = {&manager(0), &manager(1)};
  {
    std::lock_guard lock(mu_);
    daemons.insert(daemons.end(), slots_.begin(), slots_.end());
  }
  for (std::size_t i = 0; i < daemons.size(); ++i) {
    const std::string which = i < 2 ? "manager " + std::to_string(i)
                                    : "worker " + std::to_string(i - 2);
    daemons[i]->set_env(env);
    daemons[i]->Stop();
    RETURN_IF_ERROR(daemons[i]->Start(), "restart " + which + " with the fault points armed");
  }
  return Status::Ok();
}

}  // namespace ocisecrets::faults
