import { ManualClock, SystemClock } from '../src/clock';

describe('clocks', () => {
  it('ManualClock fires due wake-ups in order, only from advance(), with now() at their due time', () => {
    const clock = new ManualClock('2030-01-01T00:00:00.000Z');
    const start = clock.now().getTime();
    const fired: [string, number][] = [];
    clock.wakeAt(new Date(start + 300), () => fired.push(['c', clock.now().getTime() - start]));
    clock.wakeAt(new Date(start + 100), () => fired.push(['a', clock.now().getTime() - start]));
    clock.wakeAt(new Date(start + 100), () => fired.push(['b', clock.now().getTime() - start]));
    const cancel = clock.wakeAt(new Date(start + 200), () => fired.push(['canceled', 0]));
    cancel();
    clock.wakeAt(new Date(start - 5), () => fired.push(['past', clock.now().getTime() - start]));
    expect(fired).toEqual([]);
    clock.advance(250);
    expect(fired).toEqual([
      ['past', 0],
      ['a', 100],
      ['b', 100],
    ]);
    expect(clock.now().getTime() - start).toBe(250);
    expect(clock.pendingWakeUps()).toBe(1);
    clock.set(new Date(start + 1000));
    expect(fired.at(-1)).toEqual(['c', 300]);
    expect(clock.now().getTime() - start).toBe(1000);
  });

  it('ManualClock fires wake-ups registered by a firing wake-up when they are due within the same advance', () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    clock.wakeAt(new Date(10), () => {
      seen.push(clock.now().getTime());
      clock.wakeAt(new Date(20), () => seen.push(clock.now().getTime()));
    });
    clock.advance(30);
    expect(seen).toEqual([10, 20]);
  });

  it('ManualClock rejects going backwards and invalid input', () => {
    const clock = new ManualClock(1000);
    expect(() => clock.set(new Date(0))).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => new ManualClock('not a date')).toThrow(RangeError);
  });

  it('SystemClock wakes up at (not before) the requested time and can be canceled', async () => {
    const clock = new SystemClock();
    const at = new Date(Date.now() + 60);
    const firedAt = await new Promise<number>((resolve) =>
      clock.wakeAt(at, () => resolve(Date.now())),
    );
    expect(firedAt).toBeGreaterThanOrEqual(at.getTime());
    expect(firedAt - at.getTime()).toBeLessThan(50);
    let fired = false;
    const cancel = clock.wakeAt(new Date(Date.now() + 10), () => (fired = true));
    cancel();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
  });
});
