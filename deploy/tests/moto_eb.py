"""moto's server, with the Elastic Beanstalk calls deploy.sh makes that moto lacks.

    python moto_eb.py -H 127.0.0.1 -p PORT      (the arguments of moto_server)

moto (5.2.5) has S3, IAM, STS, create-application and list-available-solution-stacks, a
create-environment that takes no version or options, and a describe-environments that filters
nothing. This replaces or adds, in moto's own Elastic Beanstalk response and backend classes,
the calls of a deploy, each with the checks of the real service that a broken deploy trips on:

create-application-version
    the application exists (or --auto-create-application); the label is new; the source
    bundle is in S3: the bucket exists, in the same region, and holds the key.
describe-application-versions
    filtered by application and labels.
create-environment, update-environment
    the application, environment (update: it exists and is Ready; create: it does not) and
    version exist; the solution stack is one of the listed ones; every option setting is one
    deploy.sh may set (below), and an IamInstanceProfile names an instance profile in IAM.
    Then the version is "deployed": its bundle is read from S3 and checked as the Go platform
    uses it (a zip with a Procfile at its root whose web process runs a file of the zip that
    has its exec bits). The environment is busy (Launching, Updating) for the next two
    describe-environments calls, then Ready: Green on the new version, or Red on the old one
    if the bundle would not start.
describe-environments
    filtered by application, names and IncludeDeleted, with CNAME, version, health.
describe-configuration-settings
    the option settings of an environment.

Option settings other than those deploy.sh sets are refused with the real service's message
for an unknown setting: the environment properties APP_NAME, APP_VERSION and API_TOKEN, and,
for a new environment, EnvironmentType, InstanceType and IamInstanceProfile.
"""

import io
import stat
import sys
import uuid
import zipfile

from moto import server
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.elasticbeanstalk import models, responses
from moto.elasticbeanstalk.exceptions import InvalidParameterValueError
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

ENV_NS = "aws:elasticbeanstalk:application:environment"
# (namespace, option name) -> the values allowed, or None for any.
KNOWN_OPTIONS = {
    (ENV_NS, "APP_NAME"): None,
    (ENV_NS, "APP_VERSION"): None,
    (ENV_NS, "API_TOKEN"): None,
    ("aws:elasticbeanstalk:environment", "EnvironmentType"): {"SingleInstance", "LoadBalanced"},
    ("aws:autoscaling:launchconfiguration", "InstanceType"): None,
    ("aws:autoscaling:launchconfiguration", "IamInstanceProfile"): None,
}
# Environment properties may be removed; the rest are part of the environment once set.
REMOVABLE = {key for key in KNOWN_OPTIONS if key[0] == ENV_NS}
BUSY_DESCRIBES = 2


def fail(message):
    raise InvalidParameterValueError(message)


def check_options(settings, removals, creating, account):
    """The option settings as a dict, or the service's error for the first it would refuse."""
    options = {}
    for setting in settings:
        key = (setting.get("Namespace", ""), setting.get("OptionName", ""))
        if key not in KNOWN_OPTIONS:
            fail(f"Invalid option specification (Namespace: '{key[0]}', OptionName: "
                 f"'{key[1]}'): Unknown configuration setting.")
        value = setting.get("Value", "")
        allowed = KNOWN_OPTIONS[key]
        if allowed is not None and value not in allowed:
            fail(f"Invalid option value: '{value}' (Namespace: '{key[0]}', OptionName: "
                 f"'{key[1]}'): Value is not one of {sorted(allowed)}")
        if key[1] == "IamInstanceProfile":
            try:
                iam_backends[account]["global"].get_instance_profile(value)
            except Exception:
                fail(f"Invalid IamInstanceProfile: {value}")
        if key in options:
            fail(f"Option {key[0]}:{key[1]} is given twice.")
        options[key] = value
    for removal in removals:
        key = (removal.get("Namespace", ""), removal.get("OptionName", ""))
        if key not in REMOVABLE:
            fail(f"Invalid option specification (Namespace: '{key[0]}', OptionName: "
                 f"'{key[1]}'): Unknown configuration setting.")
    if creating and not any(k[1] == "IamInstanceProfile" for k in options):
        fail("Environment must have instance profile associated with it.")
    return options


def s3_object(account, region, bucket, key):
    """The bytes of s3://bucket/key, or the error create-application-version gives."""
    backend = s3_backends[account][get_partition(region)]
    where = f"(Bucket: {bucket}, Key: {key})"
    if bucket not in backend.buckets:
        fail(f"Unable to download from S3 location {where}. Reason: The bucket does not exist.")
    found = backend.buckets[bucket]
    if found.region_name != region:
        fail(f"S3 bucket {bucket} is in {found.region_name}, not in {region}: "
             f"Elastic Beanstalk takes source bundles from its own region.")
    obj = backend.get_object(bucket, key)
    if obj is None:
        fail(f"Unable to download from S3 location {where}. Reason: Not Found")
    return obj.value


def bundle_starts(data):
    """Whether the Go platform could start this bundle: the reason if not, else None."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return "the source bundle is not a zip"
    entries = {info.filename: info for info in archive.infolist()}
    if "Procfile" not in entries:
        return "no Procfile at the root of the source bundle"
    web = [line.split(":", 1)[1].strip()
           for line in archive.read("Procfile").decode("utf-8", "replace").splitlines()
           if line.startswith("web:")]
    if len(web) != 1 or not web[0]:
        return "the Procfile has no web process"
    program = web[0].split()[0].removeprefix("./")
    info = entries.get(program)
    if info is None:
        return f"the web process runs {program}, which is not in the bundle"
    mode = info.external_attr >> 16
    if info.create_system != 3 or not mode & stat.S_IXUSR:
        return f"{program} is not executable in the bundle"
    if archive.read(program)[:4] != b"\x7fELF":
        return f"{program} is not an ELF executable"
    return None


class ApplicationVersion:
    def __init__(self, app, label, description, bucket, key):
        self.app = app
        self.label = label
        self.description = description
        self.bucket = bucket
        self.key = key
        self.created = utcnow()

    def describe(self):
        return {
            "ApplicationVersionArn": models.make_arn(
                self.app.region, self.app.account_id, "applicationversion",
                f"{self.app.application_name}/{self.label}"),
            "ApplicationName": self.app.application_name,
            "VersionLabel": self.label,
            "Description": self.description,
            "SourceBundle": {"S3Bucket": self.bucket, "S3Key": self.key},
            "DateCreated": self.created,
            "DateUpdated": self.created,
            "Status": "UNPROCESSED",
        }


def versions_of(app):
    if not hasattr(app, "versions"):
        app.versions = {}
    return app.versions


def describe_env(env, poll=False):
    """An environment as described; a poll (describe-environments) counts a busy one down."""
    pending = getattr(env, "pending", None)
    if poll and pending is not None:
        pending["describes"] -= 1
        if pending["describes"] < 0:
            env.pending = None
            env.status = "Ready"
            if pending["failure"] is None:
                env.version_label = pending["label"]
                env.health = "Green"
            else:
                env.health = "Red"
                env.events.append(f"Failed to deploy application: {pending['failure']}")
    return {
        "EnvironmentName": env.environment_name,
        "EnvironmentId": env.environment_id,
        "ApplicationName": env.application_name,
        "VersionLabel": env.version_label,
        "SolutionStackName": env.solution_stack_name,
        "CNAME": env.cname,
        "DateCreated": env.date_created,
        "DateUpdated": env.date_updated,
        "Status": env.status,
        "Health": env.health,
        "Tier": env.tier,
        "EnvironmentArn": env.environment_arn,
    }


class Extension:
    """The methods added to moto's EBResponse (self is the response)."""

    def _app(self, name):
        apps = self.elasticbeanstalk_backend.applications
        if name not in apps:
            fail(f"No Application named '{name}' found.")
        return apps[name]

    def _version(self, app, label):
        versions = versions_of(app)
        if label not in versions:
            fail(f"No Application Version named '{label}' found.")
        return versions[label]

    def _deploy(self, env, version, busy_status):
        data = s3_object(self.current_account, self.region, version.bucket, version.key)
        env.pending = {"describes": BUSY_DESCRIBES, "label": version.label,
                       "failure": bundle_starts(data)}
        env.status = busy_status
        env.date_updated = utcnow()

    def create_application_version(self):
        backend = self.elasticbeanstalk_backend
        name = self._get_param("ApplicationName")
        label = self._get_param("VersionLabel")
        bundle = self._get_param("SourceBundle") or {}
        if name not in backend.applications and self._get_param("AutoCreateApplication"):
            backend.create_application(application_name=name)
        app = self._app(name)
        if label in versions_of(app):
            fail(f"Application Version {label} already exists.")
        bucket, key = bundle.get("S3Bucket", ""), bundle.get("S3Key", "")
        s3_object(self.current_account, self.region, bucket, key)
        version = ApplicationVersion(app, label, self._get_param("Description") or "", bucket, key)
        versions_of(app)[label] = version
        return ActionResult({"ApplicationVersion": version.describe()})

    def describe_application_versions(self):
        backend = self.elasticbeanstalk_backend
        name = self._get_param("ApplicationName")
        labels = self._get_param("VersionLabels") or []
        apps = [backend.applications[name]] if name in backend.applications else (
            [] if name else list(backend.applications.values()))
        found = [v.describe() for app in apps for v in versions_of(app).values()
                 if not labels or v.label in labels]
        return ActionResult({"ApplicationVersions": found})

    def create_environment(self):
        app = self._app(self._get_param("ApplicationName"))
        name = self._get_param("EnvironmentName")
        if name in app.environments:
            fail(f"Environment {name} already exists.")
        stack = self._get_param("SolutionStackName")
        stacks = [s["SolutionStackName"] for s in responses.SOLUTION_STACK_DETAILS]
        if stack not in stacks:
            fail(f"No Solution Stack named '{stack}' found.")
        version = self._version(app, self._get_param("VersionLabel"))
        options = check_options(self._get_param("OptionSettings") or [], [], True,
                                self.current_account)
        env = app.create_environment(environment_name=name, solution_stack_name=stack, tags={})
        env.solution_stack_name = stack
        env.environment_id = "e-" + uuid.uuid4().hex[:10]
        env.cname = f"{name}.{self.region}.elasticbeanstalk.com"
        env.version_label = None
        env.health = "Grey"
        env.options = options
        env.events = []
        self._deploy(env, version, "Launching")
        return ActionResult(describe_env(env))

    def update_environment(self):
        app = self._app(self._get_param("ApplicationName"))
        name = self._get_param("EnvironmentName")
        env = app.environments.get(name)
        if env is None:
            fail(f"No Environment found for EnvironmentName = '{name}'.")
        if env.status != "Ready":
            fail(f"Environment named {name} is in an invalid state for this operation. "
                 f"Must be Ready.")
        version = self._version(app, self._get_param("VersionLabel"))
        removals = self._get_param("OptionsToRemove") or []
        options = check_options(self._get_param("OptionSettings") or [], removals, False,
                                self.current_account)
        for removal in removals:
            env.options.pop((removal["Namespace"], removal["OptionName"]), None)
        env.options.update(options)
        self._deploy(env, version, "Updating")
        return ActionResult(describe_env(env))

    def describe_environments(self):
        backend = self.elasticbeanstalk_backend
        app_name = self._get_param("ApplicationName")
        names = self._get_param("EnvironmentNames") or []
        found = [describe_env(env, poll=True) for app in backend.applications.values()
                 if not app_name or app.application_name == app_name
                 for env in app.environments.values()
                 if not names or env.environment_name in names]
        return ActionResult({"Environments": found})

    def describe_configuration_settings(self):
        app = self._app(self._get_param("ApplicationName"))
        name = self._get_param("EnvironmentName")
        env = app.environments.get(name)
        if env is None:
            fail(f"No Environment found for EnvironmentName = '{name}'.")
        settings = [{"Namespace": ns, "OptionName": option, "Value": value}
                    for (ns, option), value in sorted(env.options.items())]
        return ActionResult({"ConfigurationSettings": [{
            "SolutionStackName": env.solution_stack_name,
            "ApplicationName": app.application_name,
            "EnvironmentName": name,
            "DeploymentStatus": "deployed",
            "OptionSettings": settings,
        }]})

    def describe_events(self):
        backend = self.elasticbeanstalk_backend
        name = self._get_param("EnvironmentName")
        events = [{"EnvironmentName": env.environment_name, "Message": message,
                   "Severity": "ERROR", "EventDate": utcnow()}
                  for app in backend.applications.values()
                  for env in app.environments.values()
                  if env.environment_name == name
                  for message in getattr(env, "events", [])]
        return ActionResult({"Events": events})


for method in [m for m in vars(Extension) if not m.startswith("__")]:
    setattr(responses.EBResponse, method, vars(Extension)[method])

if __name__ == "__main__":
    server.main(sys.argv[1:])
