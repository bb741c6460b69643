import type { ConfigFileProps, PythonReleaseProps } from "../constructs";

/**
 * The JAWS application as the sites install it: the `jaws-site` release (and JTM's in the Cori era)
 * and `jaws-site.conf` with its secrets, read from the JAWS repository (`../shared/reference/
 * jaws-today.md`; branch master: test/integration/generate-configs; branch main:
 * test/integration/templates/site.conf, configs/default.sh, configs/sites/*.sh).
 *
 * Secrets come from CI variables named per site and deployment, all starting with
 * `JAWS_SECRET_` (so the diff job can drop every one of them in one line, see .gitlab-ci.yml):
 * `JAWS_SECRET_<SITE>_<DEPLOYMENT>_<NAME>`, e.g. `JAWS_SECRET_JGI_PROD_DB_PASSWORD`.
 *
 * ASSUMED (not in the repository): the release's wheels (and JTM's) are put in
 * `<install dir>/wheels/` by the operators' release step (JAWS built them on the site's runner,
 * `pip install dist/*.whl`); their dependencies come from PyPI.
 */

/** The CI variable of one secret of a site and deployment: JAWS_SECRET_JGI_PROD_DB_PASSWORD. */
export const secretVariable = (site: string, deployment: string, name: string): string =>
  ["JAWS_SECRET", site, deployment, name]
    .join("_")
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, "_");

/** Where a deployment's wheels are (ASSUMED, above). */
export const wheelsDirectory = (install: string): string => `${install}/wheels`;

/** A JAWS package pinned by version, from the deployment's wheels directory and PyPI (for its dependencies). */
export const jawsRelease = (pkg: string, version: string, install: string): PythonReleaseProps => ({
  package: pkg,
  version,
  pipFindLinks: [wheelsDirectory(install)],
});

const envSecrets = (site: string, deployment: string, names: Record<string, string>): ConfigFileProps["secrets"] =>
  Object.fromEntries(Object.entries(names).map(([key, name]) => [key, { envVariable: secretVariable(site, deployment, name) }]));

/** `jaws-site.conf` of today's sites (branch main, templates/site.conf): [DB] [RMQ] [GLOBUS] [SITE] [CROMWELL] [AWS]. */
export interface JawsSiteConfig {
  readonly site: string;
  readonly deployment: string;
  /** The file (`<install>/config/jaws-site.conf`). */
  readonly path: string;
  readonly globusEndpoint: string;
  readonly globusHostPath: string;
  readonly inputsDirectory: string;
  readonly downloadsDirectory: string;
  readonly cromwellExecutions: string;
  readonly cromwellPort: number;
  readonly maxRamGb: number;
  readonly maxCpu: number;
  readonly maxTime: number;
  /** JAWS_ACCESS_GROUP (NMDC's sites only). @default - empty */
  readonly accessGroup?: string;
  /** JAWS_RPC_SERVER_NUM_THREADS: 16 in prod, 5 elsewhere (configs/deployments/prod.sh). */
  readonly rpcThreads: number;
}

const TODAY_TEMPLATE = `[DB]
dialect = mysql+mysqlconnector
host = {{db_host}}
port = {{db_port}}
user = jaws
password = {{secret.db_password}}
db = jaws_{{site}}_{{deployment}}
[RMQ]
user = jaws
password = {{secret.rmq_password}}
host = {{rmq_host}}
port = {{rmq_port}}
vhost = jaws_{{deployment}}
ttl = {{rmq_ttl}}
num_threads = {{rpc_threads}}
[GLOBUS]
host_path = {{globus_host_path}}
endpoint_id = {{globus_endpoint}}
client_secret = {{secret.globus_client_secret}}
[SITE]
id = {{site}}
deployment = {{deployment}}
inputs_dir = {{inputs_dir}}
downloads_dir = {{downloads_dir}}
default_container = {{default_container}}
max_ram_gb = {{max_ram_gb}}
max_cpu = {{max_cpu}}
max_time = {{max_time}}
access_group = {{access_group}}
max_user_active_runs = {{max_user_active_runs}}
file_sync_delay_sec = 0
file_permissions = 666
folder_permissions = 777
jaws_get_metadata_max_retrials = 3
jaws_get_metadata_wait_sec = 180
[CROMWELL]
url = http://localhost:{{cromwell_port}}
executions_dir = {{cromwell_executions}}
[AWS]
aws_access_key_id = {{secret.aws_access_key_id}}
aws_secret_access_key = {{secret.aws_secret_access_key}}
s3_bucket = ABCD
`;

/** The file of today's sites; the Globus client secret goes into [GLOBUS] (JAWS set it through site.env). */
export function jawsSiteConfToday(c: JawsSiteConfig): ConfigFileProps {
  return {
    path: c.path,
    template: TODAY_TEMPLATE,
    values: {
      site: c.site,
      deployment: c.deployment,
      db_host: "jaws-db.jgi.lbl.gov",
      db_port: 3306,
      rmq_host: "jaws-rmq.jgi.lbl.gov",
      rmq_port: 5672,
      rmq_ttl: 3600000,
      rpc_threads: c.rpcThreads,
      globus_host_path: c.globusHostPath,
      globus_endpoint: c.globusEndpoint,
      inputs_dir: c.inputsDirectory,
      downloads_dir: c.downloadsDirectory,
      default_container: "ubuntu@sha256:b5a61709a9a44284d88fb12e5c48db0409cfad5b69d4ff8224077c57302df9cf",
      max_ram_gb: c.maxRamGb,
      max_cpu: c.maxCpu,
      max_time: c.maxTime,
      access_group: c.accessGroup ?? "",
      max_user_active_runs: 200,
      cromwell_port: c.cromwellPort,
      cromwell_executions: c.cromwellExecutions,
    },
    secrets: envSecrets(c.site, c.deployment, {
      db_password: "DB_PASSWORD",
      rmq_password: "RMQ_PASSWORD",
      globus_client_secret: "GLOBUS_CLIENT_SECRET",
      aws_access_key_id: "AWS_ACCESS_KEY_ID",
      aws_secret_access_key: "AWS_SECRET_ACCESS_KEY",
    }),
  };
}

const CORI_TEMPLATE = `[DB]
dialect = mysql+mysqlconnector
host = jaws-db.lbl.gov
port = 3306
user = jaws
password = {{secret.db_password}}
db = jaws_{{site}}_{{deployment}}
[LOCAL_RPC_SERVER]
user = jaws
password = {{secret.site_rmq_password}}
host = rmq.lbl.gov
port = 5672
vhost = jaws_{{deployment}}
queue = SITE_{{site_id}}
num_threads = 5
max_retries = 3
[CENTRAL_RPC_SERVER]
user = jaws
password = {{secret.rmq_password}}
host = rmq.lbl.gov
port = 5672
vhost = jaws_{{deployment}}
queue = JAWS_{{site_id}}
num_threads = 5
max_retries = 3
[CENTRAL_RPC_CLIENT]
user = jaws
password = {{secret.rmq_password}}
host = rmq.lbl.gov
port = 5672
vhost = jaws_{{deployment}}
queue = CENTRAL
[GLOBUS]
client_id = 1a130a01-48bc-489b-a729-9ab858de1755
client_secret = {{secret.globus_client_secret}}
host_path = /
endpoint_id = be1ff650-dcbc-11ea-85a2-0e1702b77d41
[SITE]
id = {{site_id}}
uploads_dir = {{uploads_dir}}
[CROMWELL]
url = http://localhost:{{cromwell_port}}
`;

/**
 * Cori's `jaws-site.conf` as the era wrote it (generate-configs of branch master): its sections
 * were [DB], the three RPC sections, [GLOBUS], [SITE] and [CROMWELL] (no [RMQ] or [AWS] yet).
 */
export function jawsSiteConfCori(c: {
  readonly deployment: string;
  readonly path: string;
  readonly uploadsDirectory: string;
  readonly cromwellPort: number;
}): ConfigFileProps {
  return {
    path: c.path,
    template: CORI_TEMPLATE,
    values: { site: "cori", site_id: "CORI", deployment: c.deployment, uploads_dir: c.uploadsDirectory, cromwell_port: c.cromwellPort },
    secrets: envSecrets("cori", c.deployment, {
      db_password: "DB_PASSWORD",
      rmq_password: "RMQ_PASSWORD",
      site_rmq_password: "SITE_RMQ_PASSWORD",
      globus_client_secret: "GLOBUS_CLIENT_SECRET",
    }),
  };
}
