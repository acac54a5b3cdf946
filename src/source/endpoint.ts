export interface SqsClientSettings {
  queueUrl: string;
  sqsEndpoint?: string | undefined;
  region: string;
}

const AWS_HOST = /(^|\.)(amazonaws\.com(\.cn)?|api\.aws)$/i;
/** sqs.eu-west-1.amazonaws.com, sqs-fips.us-east-1.amazonaws.com, eu-west-1.queue.amazonaws.com, sqs.eu-west-1.api.aws, vpce-….sqs.eu-west-1.vpce.amazonaws.com */
const AWS_REGION_IN_HOST = [
  /(?:^|\.)sqs(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/i,
  /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/i,
  /(?:^|\.)sqs\.([a-z0-9-]+)\.api\.aws$/i,
];

export const isAwsHost = (hostname: string): boolean => AWS_HOST.test(hostname);

/** The region named in an AWS SQS host name, if any. */
export function regionOfHost(hostname: string): string | undefined {
  for (const re of AWS_REGION_IN_HOST) {
    const m = re.exec(hostname);
    if (m?.[1]) return m[1].toLowerCase();
  }
  return undefined;
}

/**
 * The endpoint to send requests to: the configured one; else, for a queue URL that is not an AWS host
 * (LocalStack, fauxqs, ElasticMQ), that URL's origin, with `*.localhost` names resolved to localhost
 * (RFC 6761); else undefined: the regional AWS endpoint (see resolveTarget).
 */
export function resolveSqsEndpoint(s: SqsClientSettings): string | undefined {
  if (s.sqsEndpoint) return s.sqsEndpoint;
  const u = new URL(s.queueUrl);
  if (isAwsHost(u.hostname)) return undefined;
  if (u.hostname.endsWith('.localhost')) u.hostname = 'localhost';
  return u.origin;
}

export interface SqsTarget {
  /** Origin every call is sent to, e.g. `https://sqs.eu-west-1.amazonaws.com`. */
  origin: string;
  /** Region the requests are signed for. */
  region: string;
  /** An AWS endpoint (amazonaws.com, api.aws). */
  aws: boolean;
  /** Set when the queue URL names a region other than AWS_REGION; that region is used. */
  regionFromQueueUrl?: { configured: string; used: string } | undefined;
}

/**
 * Where calls go and which region signs them. An AWS queue URL names its region
 * (`https://sqs.eu-west-1.amazonaws.com/…`): that region wins over AWS_REGION, since a request signed for
 * another region is refused. A configured AWS endpoint (a VPC endpoint, FIPS) names its region the same way.
 */
export function resolveTarget(s: SqsClientSettings): SqsTarget {
  const configured = resolveSqsEndpoint(s);
  const queueHost = new URL(s.queueUrl).hostname;
  const queueRegion = isAwsHost(queueHost) ? regionOfHost(queueHost) : undefined;
  if (configured !== undefined) {
    const host = new URL(configured).hostname;
    const aws = isAwsHost(host);
    const region = (aws ? regionOfHost(host) : undefined) ?? queueRegion ?? s.region;
    return { origin: new URL(configured).origin, region, aws, regionFromQueueUrl: region !== s.region && region === queueRegion ? { configured: s.region, used: region } : undefined };
  }
  const region = queueRegion ?? s.region;
  const suffix = /\.amazonaws\.com\.cn$/i.test(queueHost) ? 'amazonaws.com.cn' : 'amazonaws.com';
  return {
    origin: `https://sqs.${region}.${suffix}`,
    region,
    aws: true,
    regionFromQueueUrl: region !== s.region ? { configured: s.region, used: region } : undefined,
  };
}
