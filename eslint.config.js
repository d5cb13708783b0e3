// ESLint flat config. Besides typescript-eslint's recommended rules it
// enforces the import directions of shared/design.md:
//   core imports nothing of ours but types (and nothing of node's I/O);
//   controller never imports qemu/, host/ or agent/;
//   cli and web reach the system only through the API client.
import tseslint from 'typescript-eslint';

const nodeIo = ['node:*', 'fs', 'fs/*', 'child_process', 'net', 'http', 'https', 'os', 'dgram', 'dns', 'tls', 'worker_threads'];
const ours = (dirs) => dirs.flatMap((d) => [`../${d}/*`, `../../${d}/*`, `../${d}`, `../../${d}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeIo, message: 'src/core is pure: no I/O (design principle 1).' },
          { group: ours(['api', 'store', 'controller', 'agent', 'qemu', 'host', 'image', 'sim', 'testbed', 'cli']), message: 'src/core imports nothing of ours.' },
        ],
      }],
      'no-restricted-syntax': ['error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'src/core takes the clock as an argument.' },
        { selector: "CallExpression[callee.name=/^set(Timeout|Interval|Immediate)$/]", message: 'src/core has no timers.' },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ours(['store', 'controller', 'agent', 'qemu', 'host', 'image', 'sim', 'testbed', 'cli']), message: 'src/api imports only core types.' }] }],
    },
  },
  {
    files: ['src/controller/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ours(['qemu', 'host', 'agent']), message: 'The controller never speaks QMP nor touches a host (design principle 3).' }] }],
    },
  },
  {
    // One way in: the controller process (main.ts) and the controller's tests
    // are given the power drivers of src/host/power (a BMC is reached from the
    // controller, not through the host it switches off). Nothing else of
    // host/, and never qemu/ or agent/.
    files: ['src/controller/main.ts', 'src/controller/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+(qemu|agent)(/|$)|^(\\.\\./)+host(/(?!power/)|$)', message: 'The controller never speaks QMP nor touches a host (design principle 3); only src/host/power is wired in, by main.ts.' }] }],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'web/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ours(['store', 'controller', 'agent', 'qemu', 'host']), message: 'The CLI and console reach the system only through the API client.' }] }],
    },
  },
);
