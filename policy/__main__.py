"""The opsflows policy pack: `pulumi preview --policy-pack policy`. The policies live in opsflows_policies."""
from pulumi_policy import EnforcementLevel, PolicyPack

from opsflows_policies import POLICIES

PolicyPack(name="opsflows", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
