import { isLoopbackHttpEndpoint } from '../../src/storage/table-storage';

const KEY = 'AccountName=devstoreaccount1;AccountKey=a2V5';

describe('Table storage over plain http', () => {
  it('is allowed for Azurite on loopback', () => {
    expect(isLoopbackHttpEndpoint('UseDevelopmentStorage=true')).toBe(true);
    expect(
      isLoopbackHttpEndpoint(
        `DefaultEndpointsProtocol=http;${KEY};TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;`,
      ),
    ).toBe(true);
  });

  it('is refused for host names that only look like loopback', () => {
    for (const host of ['127.0.0.1.nip.io', '127.attacker.example']) {
      expect(
        isLoopbackHttpEndpoint(
          `DefaultEndpointsProtocol=http;${KEY};TableEndpoint=http://${host}:10002/x;`,
        ),
      ).toBe(false);
    }
  });
});
