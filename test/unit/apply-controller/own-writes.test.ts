// The controller's own Package writes on their way back through the watch: a
// reconcile may use the informer's copy only when none is pending.
import test from 'ava';
import { OwnWrites } from '../../../apply-controller/reconcile/own-writes.ts';

test('a write is pending until the informer delivers its resourceVersion', (t) => {
  const writes = new OwnWrites();
  t.true(writes.settled('ns/a'), 'nothing written: the copy is current');
  writes.wrote('ns/a', '10');
  t.false(writes.settled('ns/a'));
  writes.seen('ns/a', '9');
  t.false(writes.settled('ns/a'), 'an older event does not settle it');
  writes.seen('ns/b', '10');
  t.false(writes.settled('ns/a'), 'another Package\'s event does not settle it');
  writes.seen('ns/a', '10');
  t.true(writes.settled('ns/a'));
  t.is(writes.size, 0);
});

test('a newer write replaces the one pending; a deleted Package leaves nothing behind', (t) => {
  const writes = new OwnWrites();
  writes.wrote('ns/a', '10');
  writes.wrote('ns/a', '12');
  writes.seen('ns/a', '10');
  t.false(writes.settled('ns/a'), 'the first write came back, the second has not');
  writes.seen('ns/a', '12');
  t.true(writes.settled('ns/a'));
  writes.wrote('ns/a', '13');
  writes.forget('ns/a');
  t.true(writes.settled('ns/a'));
  writes.wrote('ns/a', undefined);
  t.true(writes.settled('ns/a'), 'an answer without a resourceVersion is not waited for');
});

test('the watch may deliver a write before its answer arrives: such a write is not waited for', (t) => {
  const writes = new OwnWrites();
  writes.seen('ns/a', '20');
  writes.seen('ns/a', '21');
  writes.wrote('ns/a', '20');
  t.true(writes.settled('ns/a'), 'the informer showed 20 already');
  writes.wrote('ns/a', '22');
  t.false(writes.settled('ns/a'));
});
