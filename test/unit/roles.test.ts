import { describe, expect, it } from 'vitest';
import { FOLDERS, folderType, sharedBetween } from '../../src/workspace/roles.js';

const folder = (id: string) => FOLDERS.find((f) => f.id === id)!;

describe('folder roles', () => {
  it('makes shared two-way on every machine', () => {
    expect(folderType(folder('shared'), 'agent')).toBe('sendreceive');
    expect(folderType(folder('shared'), 'human')).toBe('sendreceive');
  });

  it('sends deliverables from agents to humans and the inbox from humans to agents', () => {
    expect(folderType(folder('deliverables'), 'agent')).toBe('sendonly');
    expect(folderType(folder('deliverables'), 'human')).toBe('receiveonly');
    expect(folderType(folder('inbox'), 'human')).toBe('sendonly');
    expect(folderType(folder('inbox'), 'agent')).toBe('receiveonly');
  });

  it('shares a one-way folder unless both sides would only send it', () => {
    expect(sharedBetween(folder('deliverables'), 'agent', 'human')).toBe(true);
    expect(sharedBetween(folder('deliverables'), 'human', 'human')).toBe(true);
    expect(sharedBetween(folder('deliverables'), 'agent', 'agent')).toBe(false);
    expect(sharedBetween(folder('inbox'), 'human', 'human')).toBe(false);
    expect(sharedBetween(folder('inbox'), 'agent', 'agent')).toBe(true);
    expect(sharedBetween(folder('shared'), 'agent', 'agent')).toBe(true);
  });
});
