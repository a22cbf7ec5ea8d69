import test from 'ava';
import { asciiOnly, packageFolderOf } from '../../../hack/build-controllers.ts';

test('a bundle input is named by its npm package folder, nested ones included; the project\'s own modules by none', (t) => {
  t.is(packageFolderOf('node_modules/yaml/dist/index.js'), 'node_modules/yaml');
  t.is(packageFolderOf('node_modules/@kubernetes/client-node/dist/config.js'), 'node_modules/@kubernetes/client-node');
  t.is(packageFolderOf('node_modules/a/node_modules/@s/b/lib/x.js'), 'node_modules/a/node_modules/@s/b');
  t.is(packageFolderOf('apply-controller/main.ts'), undefined);
});

test('the bundles are ASCII: a character beyond it becomes an escape, which means the same in code and is text in a comment', (t) => {
  const source = "// Jimmy Wärting’s polyfill 😀\nexport const s = 'ä😀';\n";
  const ascii = asciiOnly(source);
  t.false(/[\u0080-\uffff]/.test(ascii));
  t.is(ascii, "// Jimmy W\\u00e4rting\\u2019s polyfill \\ud83d\\ude00\nexport const s = '\\u00e4\\ud83d\\ude00';\n");
  // The string literal still means what it meant.
  t.is(JSON.parse(`"${/'(.*)'/.exec(ascii)?.[1] ?? ''}"`), 'ä😀');
});
