// Jest runs the TypeScript sources as native ES modules; @swc/jest strips the types (fast, no type
// check — `npm run typecheck` and `npm run build` do that).
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    // A real etcd + kube-apiserver (+ kube-controller-manager), built by hack/kube/build.sh.
    { ...common, displayName: 'kube', testMatch: ['<rootDir>/test/kube/**/*.test.ts'] },
    // The kube tier's control plane + kube-scheduler, with test/e2e/kubelet/ running pods as processes.
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
