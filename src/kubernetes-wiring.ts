/**
 * Composition of the Kubernetes runtime: registered beside the process runtime when
 * KUBERNETES_KUBECONFIG names a cluster; without it no runtime of that kind is registered,
 * and the registry's null runtime tells whoever places a plan there why.
 */
import type { Config } from './config/index.js';
import type { Runtime } from './runtimes/index.js';
import { createKubeClient, createKubernetesRuntime, DEFAULT_KUBERNETES_SETTINGS, kubeConfigFrom } from './runtimes/index.js';

export function kubernetesRuntimes(config: Pick<Config, 'kubernetes' | 'secretKey'>): Runtime[] {
  const kube = config.kubernetes;
  if (!kube) return [];
  if (!config.secretKey)
    throw new Error('KUBERNETES_KUBECONFIG is set but SECRET_KEY is not: the Kubernetes runtime derives secrets from it');
  const client = createKubeClient(kubeConfigFrom({ kubeconfigPath: kube.kubeconfigPath }));
  return [
    createKubernetesRuntime({
      client,
      secretKey: config.secretKey,
      settings: {
        ...DEFAULT_KUBERNETES_SETTINGS,
        image: kube.image,
        ingressClassName: kube.ingressClassName,
        ingressControllerNamespace: kube.ingressNamespace,
        ingressUpstream: kube.ingressUpstream,
      },
    }),
  ];
}
