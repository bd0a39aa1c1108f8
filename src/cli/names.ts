/** The names Kubernetes accepts, as the API server checks them (apimachinery's validation). */

/** A DNS-1123 label, such as a namespace's name: lower-case letters, digits and "-", at most 63. */
export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain, such as most objects' names: labels joined by ".", at most 253. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

export function isNamespaceName(name: string): boolean {
  return DNS_LABEL.test(name);
}
