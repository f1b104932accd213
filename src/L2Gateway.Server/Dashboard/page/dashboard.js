// The L2 gateway dashboard: reads GET /v2.0/l2gw-dashboard as a stream of server-sent events (fetch, so that the
// token travels in X-Auth-Token as on every API call) and draws it. Read-only; no library, no build step.
'use strict';

(() => {
  const tokenKey = 'l2gw-dashboard-token';
  const whoKey = 'l2gw-dashboard-who';
  const backoff = [0, 500, 1000, 2000, 5000, 10000];
  let token = sessionStorage.getItem(tokenKey) || '';
  let stream = null;
  let failures = 0;
  let retryTimer = null;
  let receivedAt = 0;

  const $ = id => document.getElementById(id);

  // Builds an element; children are nodes or text (never parsed as HTML).
  function el(tag, attributes, ...children) {
    const e = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') e.className = value;
      else e.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null) continue;
      e.append(child instanceof Node ? child : String(child));
    }
    return e;
  }

  function show(id) {
    for (const section of ['login', 'forbidden', 'content']) $(section).hidden = section !== id;
    $('logout').hidden = !token;
    $('who').textContent = token ? (sessionStorage.getItem(whoKey) || '') : '';
  }

  // The stream's state in the header: live, connecting, reconnecting, or a problem (red) with its label.
  function setLink(state, label, detail) {
    const link = $('link');
    link.className = 'link link-' + state;
    link.textContent = label || state;
    link.title = detail || '';
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      return (body.NeutronError && body.NeutronError.message) || response.statusText;
    } catch {
      return `${response.status} ${response.statusText}`;
    }
  }

  function reconnect(immediately) {
    clearTimeout(retryTimer);
    failures = immediately ? 0 : Math.min(failures + 1, backoff.length - 1);
    setLink('reconnecting');
    retryTimer = setTimeout(connect, backoff[failures]);
  }

  async function connect() {
    clearTimeout(retryTimer);
    if (stream) stream.abort();
    const controller = new AbortController();
    stream = controller;
    const headers = { Accept: 'text/event-stream' };
    if (token) headers['X-Auth-Token'] = token;
    let response;
    try {
      response = await fetch('/v2.0/l2gw-dashboard', { headers, cache: 'no-store', signal: controller.signal });
    } catch (e) {
      if (!controller.signal.aborted) { setLink('problem', 'unreachable', String(e)); reconnect(false); }
      return;
    }
    if (response.status === 401) {
      showLogin(token ? 'The server refused your token (expired or revoked): sign in again.'
                      : 'This server checks identities with Keystone: sign in, or paste a token.');
      return;
    }
    if (response.status === 403) {
      $('forbidden-message').textContent = await errorMessage(response);
      setLink('problem', 'not allowed');
      show('forbidden');
      return;
    }
    if (!response.ok) {
      setLink('problem', `error ${response.status}`, await errorMessage(response));
      reconnect(false);
      return;
    }
    show('content');
    try {
      await readEvents(response.body);
    } catch (e) {
      if (controller.signal.aborted) return;
      setLink('problem', 'stream broken', String(e));
      reconnect(false);
      return;
    }
    // The server ends a stream after a while (so that tokens are checked again): open the next one at once.
    if (!controller.signal.aborted) reconnect(true);
  }

  // Server-sent events: blocks separated by a blank line, "event:" and "data:" fields, ":" comments.
  async function readEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? '' : line.slice(colon + 1);
          if (text.startsWith(' ')) text = text.slice(1);
          if (field === 'event') event = text;
          else if (field === 'data') data.push(text);
        }
        failures = 0;
        setLink('live');
        if (event === 'state' && data.length > 0) {
          receivedAt = Date.now();
          render(JSON.parse(data.join('\n')).l2gw_dashboard);
        }
      }
    }
  }

  function showLogin(message) {
    if (stream) stream.abort();
    $('login-message').textContent = message;
    $('login-error').textContent = '';
    setLink('problem', 'signed out');
    show('login');
  }

  function useToken(value, who) {
    token = value;
    sessionStorage.setItem(tokenKey, value);
    sessionStorage.setItem(whoKey, who);
    failures = 0;
    setLink('connecting');
    connect();
  }

  $('password-form').addEventListener('submit', async event => {
    event.preventDefault();
    const form = event.target;
    $('login-error').textContent = '';
    let response;
    try {
      response = await fetch('/dashboard/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          username: form.username.value,
          password: form.password.value,
          project_name: form.project.value,
          user_domain_name: form.userDomain.value || 'Default',
          project_domain_name: form.projectDomain.value || 'Default',
        }),
      });
    } catch (e) {
      $('login-error').textContent = String(e);
      return;
    }
    form.password.value = '';
    if (!response.ok) {
      $('login-error').textContent = await errorMessage(response);
      return;
    }
    const answer = await response.json();
    useToken(answer.token, `${answer.user} (project ${answer.project})`);
  });

  $('token-form').addEventListener('submit', event => {
    event.preventDefault();
    const value = event.target.token.value.trim();
    event.target.token.value = '';
    useToken(value, 'pasted token');
  });

  function signOut() {
    token = '';
    sessionStorage.removeItem(tokenKey);
    sessionStorage.removeItem(whoKey);
    showLogin('Signed out.');
  }

  $('logout').addEventListener('click', signOut);
  $('switch-user').addEventListener('click', signOut);

  const short = revision => (revision ? revision.slice(0, 8) : '–');
  const problemClass = ok => (ok ? 'ok' : 'bad');
  const connectionClass = status => (status === 'ACTIVE' ? 'ok' : status === 'ERROR' ? 'bad' : 'pending');

  function render(state) {
    $('updated').textContent = 'updated ' + new Date(receivedAt).toLocaleTimeString();
    renderSummary(state);
    renderSwitches(state.switches);
    renderGateways(state.gateways);
    renderAgents(state.agents);
    renderNetworks(state.networks);
  }

  function renderSummary(state) {
    const behind = state.switches.filter(s => !s.converged);
    const dead = state.agents.filter(a => !a.alive);
    const connections = state.gateways.flatMap(g => g.connections);
    const failing = connections.filter(c => c.status !== 'ACTIVE');
    $('summary').replaceChildren(
      el('div', { class: 'card ' + (behind.length ? 'bad' : 'ok'), 'data-testid': 'switch-summary' },
        el('strong', {}, `${state.switches.length - behind.length} of ${state.switches.length}`), ' switches converged',
        behind.length ? el('ul', {}, behind.map(s => el('li', {}, el('strong', {}, s.name), ': ', s.reason))) : null),
      el('div', { class: 'card ' + (failing.length ? 'bad' : 'ok') },
        el('strong', {}, `${connections.length - failing.length} of ${connections.length}`), ' connections active'),
      el('div', { class: 'card ' + (dead.length ? 'bad' : 'ok') },
        el('strong', {}, `${state.agents.length - dead.length} of ${state.agents.length}`), ' agents alive'));
  }

  function renderSwitches(switches) {
    const rows = switches.map(s => el('tr', { class: problemClass(s.converged), 'data-switch': s.name, 'data-problem': s.problem },
      el('td', {}, el('strong', {}, s.name), s.description ? el('div', { class: 'muted' }, s.description) : null),
      el('td', { class: 'state' },
        el('span', { class: 'pill ' + problemClass(s.converged) }, s.converged ? 'converged' : 'not converged'),
        s.converged ? null : el('div', { class: 'reason' }, s.reason)),
      el('td', {}, s.agent ? [s.agent.host, s.agent.alive ? null : el('span', { class: 'fault' }, ' (dead)')] : el('span', { class: 'muted' }, 'none')),
      el('td', { class: 'connected' }, s.connected ? 'yes' : s.agent ? el('span', { class: 'fault' }, 'no') : el('span', { class: 'muted' }, '–')),
      el('td', {}, s.lock_holder ? 'held by ' + s.lock_holder : el('span', { class: s.connected ? 'fault' : 'muted' }, 'not held')),
      el('td', {},
        el('code', { title: s.applied_revision || '' }, short(s.applied_revision)), ' / ',
        el('code', { title: s.desired_revision || '' }, short(s.desired_revision)),
        s.revisions_behind > 0 ? el('div', { class: 'muted' }, `${s.revisions_behind} behind`) : null),
      el('td', {}, s.tunnel_ips.join(', ')),
      el('td', {}, s.ports.map((p, i) => [i ? ', ' : '', el('span', { class: p.fault_status === 'UP' ? '' : 'fault', title: p.fault_status }, `${p.name} ${p.fault_status}`)])),
      el('td', { class: 'num' }, String(s.local_mac_count))));
    if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 9, class: 'muted' }, 'No switch reported or named by a gateway yet.')));
    $('switches').tBodies[0].replaceChildren(...rows);
  }

  function renderGateways(gateways) {
    const cards = gateways.map(g => el('div', { class: 'gateway', 'data-gateway': g.name },
      el('h3', {}, g.name, ' ', el('span', { class: 'muted' }, g.id)),
      el('div', {}, 'Devices: ', g.devices.map((d, i) => [i ? '; ' : '', el('strong', {}, d.device_name), ' ',
        d.interfaces.map(f => f.name + (f.segmentation_id.length ? ` (VLAN ${f.segmentation_id.join(', ')})` : '')).join(', ')])),
      g.connections.length === 0 ? el('div', { class: 'muted' }, 'No connection.') :
        el('table', {},
          el('thead', {}, el('tr', {}, el('th', {}, 'Network'), el('th', {}, 'VLAN'), el('th', {}, 'Status'), el('th', {}, 'Reason'))),
          el('tbody', {}, g.connections.map(c => el('tr', { class: connectionClass(c.status), 'data-connection': c.id },
            el('td', {}, c.network_name || c.network_id, c.network_name ? el('div', { class: 'muted' }, c.network_id) : null),
            el('td', {}, c.segmentation_id === null ? '–' : String(c.segmentation_id)),
            el('td', {}, el('span', { class: 'pill ' + connectionClass(c.status) }, c.status)),
            el('td', { class: 'reason-cell' }, c.status_reason)))))));
    $('gateways').replaceChildren(...(cards.length ? cards : [el('p', { class: 'muted' }, 'No gateway.')]));
  }

  function renderAgents(agents) {
    const rows = agents.map(a => el('tr', { class: problemClass(a.alive), 'data-agent': a.host },
      el('td', {}, el('strong', {}, a.host)),
      el('td', {}, a.alive ? 'yes' : el('span', { class: 'fault' }, 'no')),
      el('td', {}, el('span', { 'data-age': a.heartbeat_age_seconds }, age(a.heartbeat_age_seconds)), el('div', { class: 'muted' }, a.heartbeat_timestamp)),
      el('td', {}, a.started_at),
      el('td', {}, a.switches.join(', '))));
    if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No agent has reported.')));
    $('agents').tBodies[0].replaceChildren(...rows);
  }

  function renderNetworks(networks) {
    const cards = networks.map(n => el('div', { class: 'network', 'data-network': n.id },
      el('h3', {}, n.name || n.id, ' ', el('span', { class: 'muted' }, n.id, n.vni === null ? '' : ` · VNI ${n.vni}`, ' · gateways ', n.gateways.join(', '))),
      el('div', {}, 'Flood to: ', n.fdb.flood.length ? el('code', {}, n.fdb.flood.join(', ')) : el('span', { class: 'muted' }, 'no switch tunnel IP yet')),
      n.fdb.mac_count === 0 ? el('div', { class: 'muted' }, 'No MAC learned on the switches in this network.') :
        el('table', {},
          el('thead', {}, el('tr', {}, el('th', {}, 'MAC'), el('th', {}, 'IP'), el('th', {}, 'Switch'), el('th', {}, 'Tunnel IP'))),
          el('tbody', {}, n.fdb.macs.map(m => el('tr', {}, el('td', {}, el('code', {}, m.mac)), el('td', {}, m.ip), el('td', {}, m.switch), el('td', {}, m.tunnel_ip))))),
      n.fdb.mac_count > n.fdb.macs.length
        ? el('div', { class: 'muted' }, `showing ${n.fdb.macs.length} of ${n.fdb.mac_count} MACs; all of them: GET /v2.0/networks/${n.id}/l2gw-fdb`)
        : null));
    $('networks').replaceChildren(...(cards.length ? cards : [el('p', { class: 'muted' }, 'No connected network.')]));
  }

  function age(seconds) {
    if (seconds < 120) return `${Math.round(seconds)} s ago`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
    return `${Math.round(seconds / 3600)} h ago`;
  }

  // Heartbeat ages move on between documents.
  setInterval(() => {
    const elapsed = (Date.now() - receivedAt) / 1000;
    for (const span of document.querySelectorAll('[data-age]')) span.textContent = age(Number(span.dataset.age) + elapsed);
  }, 1000);

  connect();
})();
