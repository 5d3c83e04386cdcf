#include "shared/opt_in.h"

#include <gtest/gtest.h>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(OptInTest, FindsTheServiceVariableAmongTheEnvironment) {
  Result<std::optional<std::string>> s =
      ServiceFromEnv({"PATH=/bin", "OCI_SECRETS_SERVICE_X=no", "OCI_SECRETS_SERVICE=redis"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, "redis");
}

TEST(OptInTest, AnEnvironmentWithoutTheVariableOptsInToNothing) {
  for (const std::vector<std::string>& env :
       {std::vector<std::string>{}, std::vector<std::string>{"PATH=/bin", "OCI_SECRETS_SERVICE"},
        std::vector<std::string>{"OCI_SECRETS_SERVICEX=redis", "oci_secrets_service=redis"}}) {
    Result<std::optional<std::string>> s = ServiceFromEnv(env);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_FALSE(s->has_value());
  }
}

TEST(OptInTest, TheVariableSetTwiceToDifferentServicesIsRefused) {
  EXPECT_TRUE(IsError(ServiceFromEnv({"OCI_SECRETS_SERVICE=a", "OCI_SECRETS_SERVICE=b"}),
                      StatusCode::kInvalidArgument, "set twice"));
  Result<std::optional<std::string>> same =
      ServiceFromEnv({"OCI_SECRETS_SERVICE=a", "OCI_SECRETS_SERVICE=a"});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, "a");
}

TEST(OptInTest, AValueThatIsNoServiceNameIsRefusedNamingTheVariable) {
  for (const char* entry : {"OCI_SECRETS_SERVICE=", "OCI_SECRETS_SERVICE=../etc",
                            "OCI_SECRETS_SERVICE=a b"}) {
    EXPECT_TRUE(IsError(ServiceFromEnv({entry}), StatusCode::kInvalidArgument,
                        "OCI_SECRETS_SERVICE in the container's environment"))
        << entry;
  }
}

TEST(OptInTest, AnnotationAndVariableNamingDifferentServicesAreRefused) {
  Result<std::optional<OptIn>> r = ChooseOptIn(std::string("redis"), std::string("web"));
  EXPECT_TRUE(IsError(r, StatusCode::kInvalidArgument, "name different services"));
  EXPECT_NE(r.status().message().find("org.oci-secrets.service=redis"), std::string::npos);
  EXPECT_NE(r.status().message().find("OCI_SECRETS_SERVICE=web"), std::string::npos);
}

TEST(OptInTest, EitherOptInAloneOrBothAgreeingNameTheServiceAndItsSource) {
  Result<std::optional<OptIn>> a = ChooseOptIn(std::string("redis"), std::nullopt);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->service, "redis");
  EXPECT_EQ((*a)->source, kAnnotationSource);
  Result<std::optional<OptIn>> e = ChooseOptIn(std::nullopt, std::string("web"));
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->service, "web");
  EXPECT_EQ((*e)->source, kEnvSource);
  Result<std::optional<OptIn>> both = ChooseOptIn(std::string("web"), std::string("web"));
  ASSERT_TRUE(both.ok() && both->has_value());
  EXPECT_EQ((*both)->service, "web");
  Result<std::optional<OptIn>> none = ChooseOptIn(std::nullopt, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace ocisecrets
