"""The page's stylesheet and its one script (passed to ``launch(css=..., js=...)``).

The script is a small bridge: buttons inside the chat's HTML (Like / Dislike on a card,
Remove in the history, up / down / remove in a playlist) carry ``name="encore-<action>"``
and their item id or position as ``value`` (the chat's sanitizer keeps those, not
``data-*``); a click writes ``{"action", "value"}`` as JSON into a hidden textbox and presses
a hidden button, whose server handler does the work. It also scrolls the chat so that the newest
answer starts at the top of the chat area (its first cards in view), not its end.
"""

from __future__ import annotations

from assistant.ui.playlist import PLAYLIST_CSS

__all__ = ["BRIDGE_JS", "CSS"]

CSS = """
.gradio-container { max-width: 1180px !important; }
.gradio-container .main { padding-top: 6px !important; padding-bottom: 6px !important; }
#encore-root { gap: 6px !important; }
#encore-head, #encore-status, #user-summary { padding: 0 !important; }
#encore-head h1 { font-size: 1.2em; margin: 0; display: inline; }
#encore-head p { margin: 0 0 0 .6em; color: var(--body-text-color-subdued); font-size: .85em;
  display: inline; }
#encore-status, #user-summary { font-size: .85em; }
#encore-status .encore-status, #encore-status .encore-access { display: inline; }
#encore-status .encore-access::after { content: " "; }
details.status-details, details.turn-details { display: inline-block; margin-left: .4em; }
details.status-details summary, details.turn-details summary { cursor: pointer;
  color: var(--body-text-color-subdued); font-size: .85em; }
#user-row { flex-wrap: nowrap !important; gap: 6px; align-items: end; }
#user-row > * { min-width: 0 !important; }
#chat { height: calc(100vh - 330px) !important; min-height: 280px; }
#message-row { flex-wrap: nowrap !important; gap: 6px; }
#message-row > * { min-width: 0 !important; }
#encore-action-box { display: none !important; }
/* The chat's own "Clear" would empty the view but not the conversation: "New conversation"
   does that. */
#chat button[aria-label="Clear"] { display: none !important; }
.encore-reply .reply-text { margin: 0 0 6px 0; }
.encore-reply .updated { margin: 0 0 4px 0; font-size: .9em; color: var(--color-accent); }
.encore-reply .notice, .encore-reply .hint { font-size: .9em; margin: 4px 0; }
.encore-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
  gap: 8px; margin-top: 6px; }
.encore-card { display: flex; gap: 10px; padding: 8px; border-radius: 8px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); }
.encore-card.disliked { opacity: .55; }
.encore-card .cover { flex: 0 0 56px; height: 56px; border-radius: 6px; display: flex;
  flex-direction: column; align-items: center; justify-content: center; color: white;
  overflow: hidden; }
.encore-card .cover img { width: 56px; height: 56px; object-fit: cover; }
.encore-card .cover .initials { font-size: .7em; font-weight: 700; letter-spacing: .05em; }
.encore-card .body { min-width: 0; flex: 1; }
.encore-card .head { display: flex; align-items: baseline; gap: .35em; }
.encore-card h3 { display: inline; margin: 0; font-size: 1em; }
.encore-card .rank { font-weight: 700; color: var(--color-accent); }
.encore-card .facts { color: var(--body-text-color-subdued); margin: 2px 0; font-size: .85em; }
.encore-card .explanation { margin: 4px 0; font-size: .9em; }
.encore-card .match-note { margin: 2px 0; font-size: .8em; font-style: italic; color: #b45309; }
.encore-card .badge { font-size: .75em; padding: 0 6px; border-radius: 6px;
  background: var(--background-fill-secondary); }
.encore-card details summary { cursor: pointer; color: var(--body-text-color-subdued);
  font-size: .85em; }
.encore-card details ul { margin: 4px 0 0 1.2em; font-size: .85em; }
.encore-card .fb-row { display: flex; gap: 6px; margin-top: 4px; }
.encore-card .fb, .encore-history .forget { font-size: .8em; padding: 1px 10px;
  border-radius: 12px; border: 1px solid var(--border-color-primary); cursor: pointer;
  background: var(--background-fill-secondary); color: var(--body-text-color); }
.encore-card .fb.pressed { background: var(--color-accent); color: white;
  border-color: var(--color-accent); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
.encore-history ul { list-style: none; padding: 0; margin: 4px 0; }
.encore-history li { display: flex; gap: .6em; align-items: baseline; padding: 3px 0;
  border-bottom: 1px solid var(--border-color-primary); }
.encore-history .kind { min-width: 4.5em; font-weight: 600; }
.encore-history .kind-dislike { color: #b91c1c; }
.encore-history .when { color: var(--body-text-color-subdued); font-size: .85em;
  margin-left: auto; }
.encore-problem { color: var(--error-text-color, #b91c1c); }
@media (max-width: 600px) {
  .gradio-container { padding: 4px !important; }
  #encore-head p, #user-summary { display: none; }
  #chat { height: calc(100vh - 330px) !important; min-height: 260px; }
  #encore-status { font-size: .72em; line-height: 1.25; }
  .encore-cards { grid-template-columns: 1fr; gap: 6px; }
  .encore-card { padding: 6px; gap: 8px; }
  .encore-card .cover { flex-basis: 40px; height: 40px; }
  .encore-card .explanation { display: -webkit-box; -webkit-line-clamp: 2;
    -webkit-box-orient: vertical; overflow: hidden; }
  #new-user, #new-chat { padding: 4px 6px !important; font-size: .8em !important; }
}
""" + PLAYLIST_CSS

BRIDGE_JS = """
() => {
  if (window.__encoreBridge) { return; }
  window.__encoreBridge = true;
  document.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[name^="encore-"]');
    if (!b) { return; }
    ev.preventDefault();
    ev.stopPropagation();
    const box = document.querySelector('#encore-action-box textarea, #encore-action-box input');
    const go = document.querySelector('#encore-action-go');
    if (!box || !go) { return; }
    box.value = JSON.stringify({action: b.name.slice(7), value: b.value, at: Date.now()});
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => go.click(), 30);
  }, true);
  // The newest answer starts at the top of the chat area (its first cards in view).
  let lastTurn = null;
  const scroller = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p).overflowY;
      if ((s === 'auto' || s === 'scroll') && p.scrollHeight > p.clientHeight) { return p; }
    }
    return null;
  };
  const follow = () => {
    const replies = document.querySelectorAll('#chat .encore-reply');
    const newest = replies[replies.length - 1];
    if (!newest) { return; }
    const full = newest.querySelector('.encore-card, .encore-playlist') ? 'cards' : 'text';
    const key = replies.length + ':' + newest.className + ':' + full;
    if (key === lastTurn) { return; }
    lastTurn = key;
    const box = scroller(newest);
    if (!box) { return; }
    const bubble = newest.closest('.message-row, .message') || newest;
    const top = bubble.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTop += top - 4;
  };
  new MutationObserver(() => setTimeout(follow, 60)).observe(document.body,
    {childList: true, subtree: true});
}
"""
