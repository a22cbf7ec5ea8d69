import test from 'ava';
import { packageFolderOf } from '../../../hack/build-controllers.ts';

test('a bundle input is named by its npm package folder, nested ones included; the project\'s own modules by none', (t) => {
  t.is(packageFolderOf('node_modules/yaml/dist/index.js'), 'node_modules/yaml');
  t.is(packageFolderOf('node_modules/@kubernetes/client-node/dist/config.js'), 'node_modules/@kubernetes/client-node');
  t.is(packageFolderOf('node_modules/a/node_modules/@s/b/lib/x.js'), 'node_modules/a/node_modules/@s/b');
  t.is(packageFolderOf('apply-controller/main.ts'), undefined);
});
