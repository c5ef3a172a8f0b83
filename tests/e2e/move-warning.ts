import type { Locator, Page } from '@playwright/test';
import { expect } from './fixtures';

/**
 * After pressing a settings save whose size a spec cannot know in advance (it depends on the
 * seeded scores): a save that moves many items first asks in the app's dialog (issue 16); say
 * yes. `outcome` must match only this save's answer, not an earlier one still on the page
 * ("→ 0.9:", with the colon: "→ 0.9" alone is also in "0.9 → 0.97"). Returns whether the dialog asked.
 */
export async function acceptMoveWarning(page: Page, outcome: Locator): Promise<boolean> {
  const dialog = page.getByRole('dialog');
  await expect(dialog.or(outcome).first()).toBeVisible();
  if (!(await dialog.isVisible())) return false;
  await expect(dialog).toContainText(/moves [\d,]+ items/);
  await dialog.getByRole('button', { name: /^Save and move [\d,]+ items$/ }).click();
  await expect(dialog).toBeHidden();
  return true;
}
