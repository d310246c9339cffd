"""Every suite of the repository: the services under test trust the local test issuer
(certifia_shared.testing.test_issuer), set in the environment before any Settings is built."""

from certifia_shared.testing import configure_test_environment

configure_test_environment()
